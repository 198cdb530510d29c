/**
 * @latentkit-example/encoder-plugin-hashing — an example third-party text-encoder plugin for
 * latentkit, written against the public API of `@latentkit/core` only.
 *
 * @packageDocumentation
 */
export * from './hashing-text-encoder';
export * from './hashing-encoder-plugin';
