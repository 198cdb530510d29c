/** The VAE contract: images ⇄ latents. */
import type { Generator } from './generator';
import type { Tensor } from './tensor';

export interface VaeEncodeOptions {
  /** Draws the latent from the posterior with this generator; without one the mean is used. */
  generator?: Generator;
  signal?: AbortSignal;
}

/**
 * A variational autoencoder. `encode` takes images in [-1, 1] `[batch, 3, H, W]` and returns
 * unscaled latents `[batch, latentChannels, H/scaleFactor, W/scaleFactor]`; `decode` is its inverse.
 * The pipeline multiplies by `scalingFactor` (and subtracts `shiftFactor`) to get the UNet's latents.
 *
 * @example
 * ```ts
 * const latents = await vae.encode(image, { generator });
 * const image2 = await vae.decode(latents);
 * ```
 */
export interface Vae {
  readonly specificationVersion: 'v1';
  readonly latentChannels: number;
  /** Spatial down-sampling from image to latent: 8 for SD (2^(len(block_out_channels) − 1)). */
  readonly scaleFactor: number;
  /** Multiplier bringing the latents to unit variance: 0.18215 for SD 1.x. */
  readonly scalingFactor: number;
  /** Offset applied before scaling (SD3/Flux); 0 for SD 1.x/2.x. */
  readonly shiftFactor: number;
  /** Whether `encode` is available (an ONNX export may ship only the decoder). */
  readonly canEncode: boolean;
  encode(images: Tensor<Float32Array>, options?: VaeEncodeOptions): Promise<Tensor<Float32Array>>;
  decode(latents: Tensor<Float32Array>, options?: { signal?: AbortSignal }): Promise<Tensor<Float32Array>>;
  dispose?(): Promise<void> | void;
}
