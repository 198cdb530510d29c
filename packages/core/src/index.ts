/**
 * @latentkit/core — the contracts every latentkit package implements, the plugin registry, the
 * error hierarchy, tensor helpers and model-folder loading. Light: no runtime dependencies.
 *
 * @packageDocumentation
 */
export * from './errors';
export * from './tensor';
export * from './generator';
export * from './torch-generator';
export * from './tokenizer';
export * from './text-encoder';
export * from './unet';
export * from './vae';
export * from './scheduler';
export * from './registry';
export * from './config';
export * from './model-folder';
export * from './session-options';
export * from './compatibility';
