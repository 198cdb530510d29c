/**
 * Cheap previews of latents: a per-pixel quadratic map from the latent channels to RGB at latent
 * resolution, fitted once per VAE by least squares against the VAE's own decoder.
 *
 * A Stable Diffusion VAE's colours are close to an affine function of its latent channels (the
 * well-known 4×3 "latent RGB factors" of SD 1.x are such a fit); fitting it from the decoder
 * makes it work for any VAE, including ones whose factors nobody published. Pairwise products
 * of the channels are regressed too, so the map follows the decoder's curvature. Calibration
 * uses the encoding of a colour chart (flat patches of the RGB cube's corners and greys, and
 * smooth gradients: where real latents lie) and seeded Gaussian latents (a guard for latents off
 * that manifold, as in early steps); a decoder-only VAE gets the Gaussian set alone. A preview
 * then costs h·w·F·3 multiply-adds (F = 15 features for 4 channels) instead of a VAE decode.
 */
import { TorchGenerator, createTensor, scaleLatents, unscaleLatents, type Tensor, type Vae } from '@latentkit/core';
import type { RgbImage } from './image';

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
    /** `F × 3` weights, row-major, one row per feature (see {@link features}). */
    readonly weights: Float64Array,
    readonly channels: number,
  ) {}

  /** Fits the map (one encode and two decodes at 16×16 latents; the caller's generator is untouched). */
  static async fit(vae: Vae, signal?: AbortSignal): Promise<LatentPreview> {
    const channels = vae.latentChannels;
    const side = CALIBRATION_SIDE;
    const scale = vae.scaleFactor;
    // Calibration sets: the colour chart's encoding (where real latents lie) and, as a guard for
    // latents off that manifold (early steps, unusual prompts), seeded Gaussian latents.
    const sets: Tensor<Float32Array>[] = [createTensor([1, channels, side, side], new TorchGenerator(0).randn([1, channels, side, side]))];
    if (vae.canEncode) sets.push(scaleLatents(vae, await vae.encode(colourChart(side * scale), { signal })));
    const n = featureCount(channels);
    const xtx = new Float64Array(n * n);
    const xty = new Float64Array(n * 3);
    const x = new Float64Array(n);
    const z = new Float64Array(channels);
    const width = side * scale;
    const plane = side * side;
    for (const latents of sets) {
      const decoded = await vae.decode(unscaleLatents(vae, latents), { signal });
      for (let p = 0; p < plane; p++) {
        for (let c = 0; c < channels; c++) z[c] = latents.data[c * plane + p]!;
        features(z, x);
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
    }
    for (let i = 0; i < n; i++) xtx[i * n + i]! += 1e-6 * plane;
    return new LatentPreview(solve(xtx, xty, n, 3), channels);
  }

  /** Previews of `[batch, C, h, w]` latents (the UNet's scale) as 8-bit `h × w` images. */
  toImages(latents: Tensor<Float32Array>): RgbImage[] {
    const [batch = 0, channels = 0, height = 0, width = 0] = latents.dims;
    const plane = height * width;
    const w = this.weights;
    const n = featureCount(channels);
    const x = new Float64Array(n);
    const z = new Float64Array(channels);
    const images: RgbImage[] = [];
    for (let b = 0; b < batch; b++) {
      const data = new Uint8Array(plane * 3);
      for (let p = 0; p < plane; p++) {
        for (let c = 0; c < channels; c++) z[c] = latents.data[(b * channels + c) * plane + p]!;
        features(z, x);
        for (let rgb = 0; rgb < 3; rgb++) {
          let value = 0;
          for (let f = 0; f < n; f++) value += w[f * 3 + rgb]! * x[f]!;
          // The decoder's [-1, 1] → [0, 255], as the pipeline's post-processing.
          data[p * 3 + rgb] = Math.round(Math.min(1, Math.max(0, value / 2 + 0.5)) * 255);
        }
      }
      images.push({ width, height, channels: 3, data });
    }
    return images;
  }
}

/** C linear terms, C(C+1)/2 products and a constant. */
function featureCount(channels: number): number {
  return channels + (channels * (channels + 1)) / 2 + 1;
}

/**
 * The regression features of one latent pixel: the channels, their pairwise products (the
 * decoder's colours bend with the latents; a quadratic follows them far better than a plane at
 * the same negligible cost) and 1.
 */
function features(z: Float64Array, out: Float64Array): void {
  const channels = z.length;
  let k = 0;
  for (let i = 0; i < channels; i++) out[k++] = z[i]!;
  for (let i = 0; i < channels; i++) for (let j = i; j < channels; j++) out[k++] = z[i]! * z[j]!;
  out[k] = 1;
}

/**
 * A `[1, 3, size, size]` chart in [-1, 1]: the top half flat patches of the RGB cube's eight
 * corners and two greys, the bottom half horizontal and vertical colour gradients.
 */
function colourChart(size: number): Tensor<Float32Array> {
  const patches = [[0, 0, 0], [1, 1, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1], [0.5, 0.5, 0.5], [0.25, 0.25, 0.25]];
  const plane = size * size;
  const data = new Float32Array(3 * plane);
  const half = size / 2;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let rgb: readonly number[];
      if (y < half) {
        const column = Math.floor((x / size) * 5);
        rgb = patches[column + 5 * Math.floor((y / half) * 2)]!;
      } else {
        const u = x / (size - 1);
        const v = (y - half) / (half - 1);
        rgb = [u, v, 1 - (u + v) / 2];
      }
      for (let c = 0; c < 3; c++) data[c * plane + y * size + x] = 2 * rgb[c]! - 1;
    }
  }
  return createTensor([1, 3, size, size], data);
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
