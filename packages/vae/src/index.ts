/**
 * @latentkit/vae — Stable Diffusion VAEs exported to ONNX (diffusers layout) with tiled encode/decode.
 *
 * @packageDocumentation
 */
export { OnnxVae, type OnnxVaeOptions, type VaeTilingOptions } from './onnx-vae';
export { samplePosterior, type Spread } from './diagonal-gaussian';
export { exposePosteriorOutputs, type PosteriorOutputs } from './onnx-posterior-outputs';
export { runTiled, tileOrigins, type TileLayout } from './vae-tiling';
export { onnxVaePlugin, register } from './vae-plugin';
