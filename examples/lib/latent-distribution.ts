/**
 * A simple, model-agnostic "how far is this from the data" measure in latent space.
 *
 * The VAE's `scaling_factor` is chosen so that the latents of real images have unit variance
 * (Rombach et al. 2022, §4.3.2 and appendix G); a sampler that ends where the data lives ends
 * with latents whose per-channel statistics match the data's. We fit one Gaussian per latent
 * channel to the data (the latents of images like the training set) and to a generated latent,
 * and report the Fréchet distance between them (Dowson & Landau 1982; the quantity FID computes
 * on Inception features), averaged over channels:
 *
 *   d = mean_c [ (μ_c − μ_c^data)² + (σ_c − σ_c^data)² ]
 *
 * 0 means "as the data"; the further a sampler strays, the larger it grows.
 */
import { concatBatch, createTensor, type Tensor, type Vae } from '@latentkit/core';
import { imageToTensor } from '@latentkit/pipeline';
import { PALETTE_COLOURS, SHAPE_NAMES, renderShapeImage } from '@latentkit/testing';

/** Mean and standard deviation of each latent channel. */
export interface ChannelStatistics {
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

/**
 * Per-channel mean and standard deviation over every batch item and position of `[B, C, h, w]` latents.
 *
 * @example
 * ```ts
 * channelStatistics(latents).std; // ≈ [1, 1, 1, 1] for data latents
 * ```
 */
export function channelStatistics(latents: Tensor<Float32Array>): ChannelStatistics {
  const [batch = 0, channels = 0, height = 0, width = 0] = latents.dims;
  const plane = height * width;
  const mean: number[] = [];
  const std: number[] = [];
  for (let c = 0; c < channels; c++) {
    let sum = 0;
    let squares = 0;
    for (let b = 0; b < batch; b++) {
      const offset = (b * channels + c) * plane;
      for (let p = 0; p < plane; p++) {
        const value = latents.data[offset + p]!;
        sum += value;
        squares += value * value;
      }
    }
    const n = batch * plane;
    mean.push(sum / n);
    std.push(Math.sqrt(Math.max(0, squares / n - (sum / n) ** 2)));
  }
  return { mean, std };
}

/**
 * The channel-averaged Fréchet distance between per-channel Gaussians (see the module comment).
 *
 * @example
 * ```ts
 * frechetDistance(channelStatistics(generated), dataStatistics); // 0.02 close, 30 far
 * ```
 */
export function frechetDistance(a: ChannelStatistics, b: ChannelStatistics): number {
  let total = 0;
  for (let c = 0; c < a.mean.length; c++) total += (a.mean[c]! - b.mean[c]!) ** 2 + (a.std[c]! - b.std[c]!) ** 2;
  return total / a.mean.length;
}

/**
 * UNet-scale latents of images like latentkit-tiny's training set: each shape in each palette
 * colour, on another palette colour, at a few sizes (rendered by `@latentkit/testing`), encoded by
 * the VAE (posterior means) and scaled by its `scaling_factor`.
 *
 * @example
 * ```ts
 * const data = channelStatistics(await shapeDataLatents(pipeline.vae, 64));
 * ```
 */
export async function shapeDataLatents(vae: Vae, side: number): Promise<Tensor<Float32Array>> {
  const images = [];
  for (const [s, shape] of SHAPE_NAMES.entries()) {
    for (const [f, foreground] of PALETTE_COLOURS.entries()) {
      const background = PALETTE_COLOURS[(f + 1 + s * 2) % PALETTE_COLOURS.length]!;
      const size = side * (0.3 + 0.1 * ((f + s) % 4));
      images.push(imageToTensor(renderShapeImage({ shape, foreground, background, size, width: side, height: side })));
    }
  }
  const encoded = await vae.encode(concatBatch(images));
  const data = new Float32Array(encoded.data.length);
  for (let i = 0; i < data.length; i++) data[i] = (encoded.data[i]! - vae.shiftFactor) * vae.scalingFactor;
  return createTensor(encoded.dims, data);
}
