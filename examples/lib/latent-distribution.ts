/**
 * A simple, model-agnostic "how far is this from the data" measure in latent space.
 *
 * A sampler that ends where the data lives ends with latents whose statistics match the data's.
 * We fit one Gaussian per latent channel to the latents of a batch of generated images and to
 * those of images of what the prompt asks for (rendered as the training set is), and report the
 * Fréchet distance between them (Dowson & Landau 1982; the quantity FID computes on Inception
 * features, here on the VAE's latents with diagonal covariances), averaged over channels:
 *
 *   d = mean_c [ (μ_c − μ_c^data)² + (σ_c − σ_c^data)² ]
 *
 * 0 means "as the data"; the further a sampler strays, the larger it grows.
 */
import { concatBatch, createTensor, type Tensor, type Vae } from '@latentkit/core';
import { imageToTensor, type ImageInput } from '@latentkit/pipeline';
import { PALETTE_COLOURS, SHAPE_NAMES, renderShapeImage, type PaletteColour, type ShapeName } from '@latentkit/testing';

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

/** What an English prompt of the training set's form asks for. */
export interface ShapeRequest {
  readonly shape: ShapeName;
  readonly foreground: PaletteColour;
  readonly background: PaletteColour;
}

/**
 * Reads "a red circle on a blue background" (the training captions' main form) into a request;
 * undefined for other prompts.
 *
 * @example
 * ```ts
 * parseShapePrompt('a red circle on a blue background'); // { shape: 'circle', foreground: 'red', background: 'blue' }
 * ```
 */
export function parseShapePrompt(prompt: string): ShapeRequest | undefined {
  const match = /^an? (\w+) (\w+) on an? (\w+)(?: background)?$/.exec(prompt.trim().toLowerCase());
  if (!match) return undefined;
  const [, foreground, shape, background] = match as unknown as [string, PaletteColour, ShapeName, PaletteColour];
  if (!SHAPE_NAMES.includes(shape) || !PALETTE_COLOURS.includes(foreground) || !PALETTE_COLOURS.includes(background)) return undefined;
  return { shape, foreground, background };
}

/**
 * Images of what a request asks for, drawn as the training set draws them (sizes 0.34–0.70 of
 * the side, shapes anywhere inside the image): 4 sizes × 4 positions, deterministic.
 *
 * @example
 * ```ts
 * const renders = requestRenders({ shape: 'circle', foreground: 'red', background: 'blue' }, 64); // 16 images
 * ```
 */
export function requestRenders(request: ShapeRequest, side: number): ReturnType<typeof renderShapeImage>[] {
  const images = [];
  for (const fraction of [0.34, 0.46, 0.58, 0.7]) {
    const half = (fraction * side) / 2;
    for (const [u, v] of [[0.2, 0.2], [0.8, 0.3], [0.3, 0.8], [0.7, 0.7]] as const) {
      // dataset.py: centre = half + 1 + U(0, 1) · (side − 2·half − 2).
      const centerX = half + 1 + u * (side - 2 * half - 2);
      const centerY = half + 1 + v * (side - 2 * half - 2);
      images.push(renderShapeImage({ ...request, size: fraction * side, centerX, centerY, width: side, height: side }));
    }
  }
  return images;
}

/**
 * UNet-scale latents of images: the VAE's posterior means, shifted and multiplied by its `scaling_factor`.
 *
 * @example
 * ```ts
 * const data = channelStatistics(await encodeToLatents(pipeline.vae, shapeDataImages(64)));
 * ```
 */
export async function encodeToLatents(vae: Vae, images: readonly ImageInput[]): Promise<Tensor<Float32Array>> {
  const encoded = await vae.encode(concatBatch(images.map(imageToTensor)));
  const data = new Float32Array(encoded.data.length);
  for (let i = 0; i < data.length; i++) data[i] = (encoded.data[i]! - vae.shiftFactor) * vae.scalingFactor;
  return createTensor(encoded.dims, data);
}
