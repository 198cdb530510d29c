/**
 * Cheap previews of latents: a per-pixel affine map from the latent channels to RGB at latent
 * resolution, fitted once per VAE by least squares against the VAE's own decoder.
 *
 * A Stable Diffusion VAE's colours are close to an affine function of its latent channels (the
 * well-known 4×3 "latent RGB factors" of SD 1.x are such a fit); fitting it from the decoder
 * makes it work for any VAE, including ones whose factors nobody published. A preview then costs
 * h·w·(C+1)·3 multiply-adds instead of a VAE decode.
 */
import { TorchGenerator, createTensor, type Tensor, type Vae } from '@latentkit/core';
import type { RgbImage } from './image';
import { toVaeLatents } from './latent-preparation';

/** Side of the calibration latent (its decode is (side · scale factor)² pixels, once). */
const CALIBRATION_SIDE = 16;

/**
 * Latents → approximate RGB previews at latent resolution.
 *
 * @example
 * ```ts
 * const preview = await LatentPreview.fit(vae);
 * const [image] = preview.toImages(latents); // 64×64 for SD's 64×64 latents
 * ```
 */
export class LatentPreview {
  private constructor(
    /** `(C + 1) × 3` weights, row-major: one row per latent channel, then the bias row. */
    readonly weights: Float64Array,
    readonly channels: number,
  ) {}

  /** Fits the map from one decode of seeded random latents (seed 0; the caller's generator is untouched). */
  static async fit(vae: Vae, signal?: AbortSignal): Promise<LatentPreview> {
    const channels = vae.latentChannels;
    const side = CALIBRATION_SIDE;
    const dims = [1, channels, side, side];
    const latents = createTensor(dims, new TorchGenerator(0).randn(dims));
    const decoded = await vae.decode(toVaeLatents(vae, latents), { signal });
    const scale = vae.scaleFactor;
    const width = side * scale;
    const plane = side * side;
    // Normal equations (XᵀX) W = XᵀY with X = [z, 1] per latent pixel and Y = the decoded
    // colours averaged over the pixel's scale × scale block; a small ridge keeps XᵀX invertible.
    const n = channels + 1;
    const xtx = new Float64Array(n * n);
    const xty = new Float64Array(n * 3);
    const x = new Float64Array(n);
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < channels; c++) x[c] = latents.data[c * plane + p]!;
      x[channels] = 1;
      const py = Math.floor(p / side) * scale;
      const px = (p % side) * scale;
      for (let rgb = 0; rgb < 3; rgb++) {
        let sum = 0;
        for (let dy = 0; dy < scale; dy++) for (let dx = 0; dx < scale; dx++) sum += decoded.data[(rgb * width + py + dy) * width + px + dx]!;
        const y = sum / (scale * scale);
        for (let i = 0; i < n; i++) xty[i * 3 + rgb]! += x[i]! * y;
      }
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) xtx[i * n + j]! += x[i]! * x[j]!;
    }
    for (let i = 0; i < n; i++) xtx[i * n + i]! += 1e-6 * plane;
    return new LatentPreview(solve(xtx, xty, n, 3), channels);
  }

  /** Previews of `[batch, C, h, w]` latents (the UNet's scale) as 8-bit `h × w` images. */
  toImages(latents: Tensor<Float32Array>): RgbImage[] {
    const [batch = 0, channels = 0, height = 0, width = 0] = latents.dims;
    const plane = height * width;
    const w = this.weights;
    const images: RgbImage[] = [];
    for (let b = 0; b < batch; b++) {
      const data = new Uint8Array(plane * 3);
      for (let p = 0; p < plane; p++) {
        for (let rgb = 0; rgb < 3; rgb++) {
          let value = w[channels * 3 + rgb]!;
          for (let c = 0; c < channels; c++) value += w[c * 3 + rgb]! * latents.data[(b * channels + c) * plane + p]!;
          // The decoder's [-1, 1] → [0, 255], as the pipeline's post-processing.
          data[p * 3 + rgb] = Math.round(Math.min(1, Math.max(0, value / 2 + 0.5)) * 255);
        }
      }
      images.push({ width, height, channels: 3, data });
    }
    return images;
  }
}

/** Solves A·X = B for an n×n symmetric positive-definite A and n×m B, by Gaussian elimination with partial pivoting. */
function solve(a: Float64Array, b: Float64Array, n: number, m: number): Float64Array {
  const A = a.slice();
  const B = b.slice();
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let row = col + 1; row < n; row++) if (Math.abs(A[row * n + col]!) > Math.abs(A[pivot * n + col]!)) pivot = row;
    if (pivot !== col) {
      for (let k = 0; k < n; k++) [A[col * n + k], A[pivot * n + k]] = [A[pivot * n + k]!, A[col * n + k]!];
      for (let k = 0; k < m; k++) [B[col * m + k], B[pivot * m + k]] = [B[pivot * m + k]!, B[col * m + k]!];
    }
    for (let row = col + 1; row < n; row++) {
      const factor = A[row * n + col]! / A[col * n + col]!;
      for (let k = col; k < n; k++) A[row * n + k]! -= factor * A[col * n + k]!;
      for (let k = 0; k < m; k++) B[row * m + k]! -= factor * B[col * m + k]!;
    }
  }
  const X = new Float64Array(n * m);
  for (let row = n - 1; row >= 0; row--) {
    for (let k = 0; k < m; k++) {
      let sum = B[row * m + k]!;
      for (let j = row + 1; j < n; j++) sum -= A[row * n + j]! * X[j * m + k]!;
      X[row * m + k] = sum / A[row * n + row]!;
    }
  }
  return X;
}
