/**
 * @latentkit/testing — conformance suites a plugin runs on itself, a deterministic analyser of
 * generated shape images, and helpers to find the shared reference data.
 *
 * @packageDocumentation
 */
export * from './test-runner';
export * from './shared-dir';
export * from './tensor-assertions';
export * from './seeded-generator';
export * from './text-encoder-conformance';
export * from './scheduler-conformance';
export * from './unet-conformance';
export * from './plugin-conformance';
export * from './shape-palette';
export * from './shape-image-render';
export * from './shape-classification';
export * from './shape-image-analyser';
