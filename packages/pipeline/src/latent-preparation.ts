/**
 * The small tensor steps of diffusers' `prepare_latents` / `prepare_mask_latents`, each in
 * float32 as torch computes them. (Moving between the VAE's latents and the UNet's is the VAE's:
 * `scaleLatents` / `unscaleLatents` in @latentkit/core.)
 */
import { createTensor, repeatInterleaveBatch, type Tensor } from '@latentkit/core';

/** `x · c` in float32 (a new tensor). */
export function scaleTensor(tensor: Tensor<Float32Array>, factor: number): Tensor<Float32Array> {
  if (factor === 1) return createTensor(tensor.dims, tensor.data.slice());
  const f = Math.fround(factor);
  const out = new Float32Array(tensor.data.length);
  for (let i = 0; i < out.length; i++) out[i] = f * tensor.data[i]!;
  return createTensor(tensor.dims, out);
}

/** Repeats a batch-1 tensor to `batch` entries (diffusers' `repeat(batch // 1, 1, 1, 1)`). */
export function expandBatch(tensor: Tensor<Float32Array>, batch: number): Tensor<Float32Array> {
  return tensor.dims[0] === batch ? tensor : repeatInterleaveBatch(tensor, batch / tensor.dims[0]!);
}

/** Nearest-neighbour resize of a `[B, 1, H, W]` mask by an integer factor, as `F.interpolate(mode='nearest')`. */
export function downsampleMask(mask: Tensor<Float32Array>, factor: number): Tensor<Float32Array> {
  const [batch = 0, channels = 0, height = 0, width = 0] = mask.dims;
  const h = height / factor;
  const w = width / factor;
  const out = new Float32Array(batch * channels * h * w);
  for (let bc = 0; bc < batch * channels; bc++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) out[(bc * h + y) * w + x] = mask.data[(bc * height + y * factor) * width + x * factor]!;
    }
  }
  return createTensor([batch, channels, h, w], out);
}

/** The image with the repainted region blanked: `image · (mask < 0.5)`. */
export function maskImage(image: Tensor<Float32Array>, mask: Tensor<Float32Array>): Tensor<Float32Array> {
  const plane = mask.data.length;
  const out = new Float32Array(image.data.length);
  for (let i = 0; i < out.length; i++) out[i] = mask.data[i % plane]! < 0.5 ? image.data[i]! : 0;
  return createTensor(image.dims, out);
}
