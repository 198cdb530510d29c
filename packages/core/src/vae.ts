/** The VAE contract: images ⇄ latents, and the latents' scaling to the UNet's unit variance. */
import type { Generator } from './generator';
import { createTensor, type Tensor } from './tensor';

export interface VaeEncodeOptions {
  /** Draws the latent from the posterior with this generator; without one the mean is used. */
  generator?: Generator;
  signal?: AbortSignal;
}

/**
 * A variational autoencoder. `encode` takes images in [-1, 1] `[batch, 3, H, W]` and returns
 * unscaled latents `[batch, latentChannels, H/scaleFactor, W/scaleFactor]`; `decode` is its inverse.
 * The VAE owns the move to the UNet's latents ({@link scaleLatents}: `scalingFactor · (z − shiftFactor)`)
 * and back ({@link unscaleLatents}); a VAE with another normalisation implements the two methods.
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
  /** `encode`'s latents → the UNet's (default: `scalingFactor · (z − shiftFactor)`, float32). */
  scaleLatents?(latents: Tensor<Float32Array>): Tensor<Float32Array>;
  /** The UNet's latents → `decode`'s input (default: `z / scalingFactor + shiftFactor`, float32). */
  unscaleLatents?(latents: Tensor<Float32Array>): Tensor<Float32Array>;
  decode(latents: Tensor<Float32Array>, options?: { signal?: AbortSignal }): Promise<Tensor<Float32Array>>;
  dispose?(): Promise<void> | void;
}

/** The factors of diffusers' latent normalisation (`vae.config.scaling_factor`, `shift_factor`). */
export interface LatentScaling {
  readonly scalingFactor: number;
  readonly shiftFactor: number;
}

/**
 * VAE latents → UNet latents by the factors: `scaling_factor · (z − shift_factor)` in float32, as torch.
 *
 * @example
 * ```ts
 * scaleLatentsByFactors(encoded, { scalingFactor: 0.18215, shiftFactor: 0 });
 * ```
 */
export function scaleLatentsByFactors(latents: Tensor<Float32Array>, { scalingFactor, shiftFactor }: LatentScaling): Tensor<Float32Array> {
  const shift = Math.fround(shiftFactor);
  const scale = Math.fround(scalingFactor);
  const out = new Float32Array(latents.data.length);
  for (let i = 0; i < out.length; i++) out[i] = scale * (shift === 0 ? latents.data[i]! : Math.fround(latents.data[i]! - shift));
  return createTensor(latents.dims, out);
}

/**
 * UNet latents → VAE latents by the factors: `z / scaling_factor + shift_factor` in float32.
 *
 * @example
 * ```ts
 * unscaleLatentsByFactors(latents, { scalingFactor: 0.18215, shiftFactor: 0 });
 * ```
 */
export function unscaleLatentsByFactors(latents: Tensor<Float32Array>, { scalingFactor, shiftFactor }: LatentScaling): Tensor<Float32Array> {
  const shift = Math.fround(shiftFactor);
  const scale = Math.fround(scalingFactor);
  const out = new Float32Array(latents.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.fround(latents.data[i]! / scale) + shift;
  return createTensor(latents.dims, out);
}

/**
 * A VAE's latents → the UNet's: the VAE's own `scaleLatents`, or its factors for a VAE without one.
 *
 * @example
 * ```ts
 * const latents = scaleLatents(vae, await vae.encode(image));
 * ```
 */
export function scaleLatents(vae: Vae, latents: Tensor<Float32Array>): Tensor<Float32Array> {
  return vae.scaleLatents ? vae.scaleLatents(latents) : scaleLatentsByFactors(latents, vae);
}

/**
 * The UNet's latents → the VAE's: the VAE's own `unscaleLatents`, or its factors for a VAE without one.
 *
 * @example
 * ```ts
 * const image = await vae.decode(unscaleLatents(vae, latents));
 * ```
 */
export function unscaleLatents(vae: Vae, latents: Tensor<Float32Array>): Tensor<Float32Array> {
  return vae.unscaleLatents ? vae.unscaleLatents(latents) : unscaleLatentsByFactors(latents, vae);
}
