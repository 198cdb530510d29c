/**
 * Image helpers the examples share: PNG output through sharp (nearest-neighbour enlarged, since
 * the embedded model draws 64×64), side-by-side strips, PSNR, and the distance from an image to
 * the embedded model's colour palette.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { InvalidArgumentError } from '@latentkit/core';
import { PALETTE_COLOURS, SHAPE_PALETTE } from '@latentkit/testing';

/** An 8-bit interleaved RGB image, what the pipeline returns. */
export interface Rgb8Image {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3 | 4;
  readonly data: Uint8Array;
}

/**
 * Writes an image as PNG, enlarged `scale`× with nearest-neighbour so that pixels stay visible.
 *
 * @example
 * ```ts
 * await savePng(images[0], 'out/circle.png', 4);
 * ```
 */
export async function savePng(image: Rgb8Image, file: string, scale = 4): Promise<string> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), {
    raw: { width: image.width, height: image.height, channels: image.channels },
  })
    .resize(image.width * scale, image.height * scale, { kernel: 'nearest' })
    .png()
    .toFile(file);
  return file;
}

/**
 * Puts images of one height next to each other with a white gap, left to right.
 *
 * @example
 * ```ts
 * await savePng(sideBySide([before, after]), 'out/compare.png');
 * ```
 */
export function sideBySide(images: readonly Rgb8Image[], gap = 2): Rgb8Image {
  const height = images[0]!.height;
  for (const image of images) {
    if (image.height !== height || image.channels !== 3) {
      throw new InvalidArgumentError({ name: 'images', expected: `RGB images of height ${height}`, actual: `${image.width}×${image.height}×${image.channels}` });
    }
  }
  const width = images.reduce((sum, image) => sum + image.width, 0) + gap * (images.length - 1);
  const data = new Uint8Array(width * height * 3).fill(255);
  let left = 0;
  for (const image of images) {
    for (let y = 0; y < height; y++) {
      data.set(image.data.subarray(y * image.width * 3, (y + 1) * image.width * 3), (y * width + left) * 3);
    }
    left += image.width + gap;
  }
  return { width, height, channels: 3, data };
}

/**
 * Puts RGB images of one width under each other with a white gap, top to bottom.
 *
 * @example
 * ```ts
 * await savePng(stackVertically([row1, row2]), 'out/grid.png');
 * ```
 */
export function stackVertically(images: readonly Rgb8Image[], gap = 2): Rgb8Image {
  const width = Math.max(...images.map((image) => image.width));
  const height = images.reduce((n, image) => n + image.height, 0) + gap * (images.length - 1);
  const data = new Uint8Array(width * height * 3).fill(255);
  let top = 0;
  for (const image of images) {
    for (let y = 0; y < image.height; y++) data.set(image.data.subarray(y * image.width * 3, (y + 1) * image.width * 3), ((top + y) * width) * 3);
    top += image.height + gap;
  }
  return { width, height, channels: 3, data };
}

/**
 * Peak signal-to-noise ratio of `test` against `reference` in dB, over 8-bit samples:
 * 10·log10(255² / MSE). +∞ for identical images.
 *
 * @example
 * ```ts
 * psnr(clean, noisy); // ≈ 20 dB for Gaussian noise of σ = 25
 * ```
 */
export function psnr(reference: Rgb8Image, test: Rgb8Image): number {
  if (reference.data.length !== test.data.length) {
    throw new InvalidArgumentError({ name: 'test', expected: `${reference.width}×${reference.height}×${reference.channels}`, actual: `${test.width}×${test.height}×${test.channels}` });
  }
  let squared = 0;
  for (let i = 0; i < reference.data.length; i++) squared += (reference.data[i]! - test.data[i]!) ** 2;
  const mse = squared / reference.data.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

/**
 * The mean, over pixels, of the RGB distance (0…441) from each pixel to the nearest of the eight
 * colours latentkit-tiny's training images are painted with. A training image scores only its
 * anti-aliased edge (about 3–5); washed-out or saturated images that no training image resembles
 * score tens to hundreds. A crude but honest "how far from the data" for this model's data.
 *
 * @example
 * ```ts
 * paletteDistance(renderShapeImage({ shape: 'circle', foreground: 'red', background: 'blue', size: 30 })); // ≈ 4
 * ```
 */
export function paletteDistance(image: Rgb8Image): number {
  let total = 0;
  const pixels = image.width * image.height;
  for (let i = 0; i < pixels; i++) {
    const o = i * image.channels;
    let best = Infinity;
    for (const colour of PALETTE_COLOURS) {
      const [r, g, b] = SHAPE_PALETTE[colour];
      best = Math.min(best, Math.hypot(image.data[o]! - r, image.data[o + 1]! - g, image.data[o + 2]! - b));
    }
    total += best;
  }
  return total / pixels;
}

/**
 * Adds seeded Gaussian noise of standard deviation `sigma` (in 8-bit units) to an image, clamped
 * to 0…255, drawing from `randn` (e.g. a `TorchGenerator`).
 *
 * @example
 * ```ts
 * const noisy = addGaussianNoise(clean, 40, (n) => new TorchGenerator(0).randn([n]));
 * ```
 */
export function addGaussianNoise(image: Rgb8Image, sigma: number, randn: (count: number) => Float32Array): Rgb8Image {
  const noise = randn(image.data.length);
  const data = new Uint8Array(image.data.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.min(255, Math.max(0, Math.round(image.data[i]! + sigma * noise[i]!)));
  return { ...image, data };
}
