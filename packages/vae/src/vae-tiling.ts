/**
 * Running a convolutional VAE half over overlapping tiles and blending the results, so that a
 * large image never needs the whole activation at once (the idea of diffusers'
 * `AutoencoderKL.tiled_decode` / `tiled_encode`).
 *
 * Unlike diffusers, every tile has the full size (the last tile along an axis is moved back to
 * end at the border rather than shrunk), and overlaps are blended with linear ramps whose weights
 * are normalised per pixel, so any tile layout yields a partition of unity with no seams.
 */
import { InvalidArgumentError, createTensor, type Tensor } from '@latentkit/core';

/** How to cut the input into tiles, in input units (latent cells for decode, pixels for encode). */
export interface TileLayout {
  /** Side of a square tile. */
  readonly tileSize: number;
  /** Overlap between neighbouring tiles; less than `tileSize`. */
  readonly overlap: number;
  /** Tile origins are multiples of this (the VAE scale factor when encoding, so latents align). */
  readonly alignment?: number;
}

/**
 * Start offsets of tiles of `tile` cells covering `length` cells with at least `overlap` shared
 * cells between neighbours; origins aligned to `alignment`.
 *
 * @example
 * ```ts
 * tileOrigins(128, 64, 16, 1); // [0, 48, 64]
 * ```
 */
export function tileOrigins(length: number, tile: number, overlap: number, alignment = 1): number[] {
  if (length <= tile) return [0];
  const stride = Math.max(alignment, Math.floor((tile - overlap) / alignment) * alignment);
  const origins: number[] = [];
  for (let start = 0; start + tile < length; start += stride) origins.push(start);
  const last = Math.floor((length - tile) / alignment) * alignment;
  if (origins[origins.length - 1] !== last) origins.push(last);
  return origins;
}

/** Weight of cell `x` of a tile: ramps over `ramp` cells at sides that border another tile. */
function rampWeights(size: number, ramp: number, rampStart: boolean, rampEnd: boolean): Float32Array {
  const weights = new Float32Array(size);
  for (let x = 0; x < size; x++) {
    let w = 1;
    if (rampStart && ramp > 0) w = Math.min(w, (x + 0.5) / ramp);
    if (rampEnd && ramp > 0) w = Math.min(w, (size - x - 0.5) / ramp);
    weights[x] = w;
  }
  return weights;
}

/**
 * Applies `runTile` to overlapping tiles of `input` (`[batch, C, H, W]`) and blends the outputs into
 * one `[batch, C', H·factor, W·factor]` tensor, where `factor` is the output/input size ratio
 * (the VAE scale factor to decode, its inverse to encode).
 *
 * @example
 * ```ts
 * const image = await runTiled(latents, 8, { tileSize: 64, overlap: 16 }, (tile) => vae.decodeWhole(tile));
 * ```
 */
export async function runTiled(
  input: Tensor<Float32Array>,
  factor: number,
  layout: TileLayout,
  runTile: (tile: Tensor<Float32Array>) => Promise<Tensor<Float32Array>>,
): Promise<Tensor<Float32Array>> {
  const [batch = 0, channels = 0, height = 0, width = 0] = input.dims;
  const { tileSize, overlap, alignment = 1 } = layout;
  if (!Number.isInteger(tileSize) || tileSize < 1 || !Number.isInteger(overlap) || overlap < 0 || overlap >= tileSize) {
    throw new InvalidArgumentError({ name: 'tiling', expected: 'integers with 0 ≤ overlap < tileSize', actual: { tileSize, overlap } as never, hint: `got tileSize ${tileSize}, overlap ${overlap}` });
  }
  const rows = tileOrigins(height, tileSize, overlap, alignment);
  const columns = tileOrigins(width, tileSize, overlap, alignment);
  const tileHeight = Math.min(tileSize, height);
  const tileWidth = Math.min(tileSize, width);
  const outHeight = height * factor;
  const outWidth = width * factor;
  let outChannels = 0;
  let out: Float32Array | undefined;
  const weightSum = new Float32Array(outHeight * outWidth);
  const tileData = new Float32Array(batch * channels * tileHeight * tileWidth);

  for (const [rowIndex, top] of rows.entries()) {
    for (const [columnIndex, left] of columns.entries()) {
      for (let b = 0; b < batch; b++) {
        for (let c = 0; c < channels; c++) {
          for (let y = 0; y < tileHeight; y++) {
            const from = ((b * channels + c) * height + top + y) * width + left;
            tileData.set(input.data.subarray(from, from + tileWidth), ((b * channels + c) * tileHeight + y) * tileWidth);
          }
        }
      }
      const result = await runTile(createTensor([batch, channels, tileHeight, tileWidth], tileData));
      const [, resultChannels = 0, resultHeight = 0, resultWidth = 0] = result.dims;
      if (resultHeight !== tileHeight * factor || resultWidth !== tileWidth * factor) {
        throw new InvalidArgumentError({ name: 'tile output', expected: `${tileHeight * factor}×${tileWidth * factor}`, actual: result.dims });
      }
      out ??= new Float32Array(batch * (outChannels = resultChannels) * outHeight * outWidth);
      const ramp = overlap * factor;
      const weightsY = rampWeights(resultHeight, ramp, rowIndex > 0, rowIndex < rows.length - 1);
      const weightsX = rampWeights(resultWidth, ramp, columnIndex > 0, columnIndex < columns.length - 1);
      const outTop = top * factor;
      const outLeft = left * factor;
      for (let y = 0; y < resultHeight; y++) {
        for (let x = 0; x < resultWidth; x++) weightSum[(outTop + y) * outWidth + outLeft + x]! += weightsY[y]! * weightsX[x]!;
      }
      for (let b = 0; b < batch; b++) {
        for (let c = 0; c < outChannels; c++) {
          for (let y = 0; y < resultHeight; y++) {
            const source = ((b * outChannels + c) * resultHeight + y) * resultWidth;
            const target = ((b * outChannels + c) * outHeight + outTop + y) * outWidth + outLeft;
            const wy = weightsY[y]!;
            for (let x = 0; x < resultWidth; x++) out[target + x]! += wy * weightsX[x]! * result.data[source + x]!;
          }
        }
      }
    }
  }
  const data = out!;
  const plane = outHeight * outWidth;
  for (let i = 0; i < data.length; i++) data[i]! /= weightSum[i % plane]!;
  return createTensor([batch, outChannels, outHeight, outWidth], data);
}
