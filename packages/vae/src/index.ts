/**
 * @latentkit/vae — Stable Diffusion VAEs exported to ONNX (diffusers layout) with tiled encode/decode.
 *
 * @packageDocumentation
 */
export { OnnxVae, type OnnxVaeOptions, type VaeTilingOptions } from './onnx-vae';
export { samplePosterior } from './diagonal-gaussian';
export { runTiled, tileOrigins, type TileLayout } from './vae-tiling';
export { onnxVaePlugin, register } from './vae-plugin';
