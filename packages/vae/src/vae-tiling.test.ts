import { createTensor, numel, type Tensor } from '@latentkit/core';
import { runTiled, tileOrigins } from './vae-tiling';

/** A stand-in decoder that is exactly tile-invariant: nearest-neighbour upsampling by `factor` of `x² + channel`. */
function upsample(factor: number, outChannels: number) {
  return async (tile: Tensor<Float32Array>): Promise<Tensor<Float32Array>> => {
    const [batch = 0, channels = 0, height = 0, width = 0] = tile.dims;
    const dims = [batch, outChannels, height * factor, width * factor];
    const out = new Float32Array(numel(dims));
    for (let b = 0; b < batch; b++)
      for (let c = 0; c < outChannels; c++)
        for (let y = 0; y < height * factor; y++)
          for (let x = 0; x < width * factor; x++) {
            const v = tile.data[((b * channels + (c % channels)) * height + Math.floor(y / factor)) * width + Math.floor(x / factor)]!;
            out[((b * outChannels + c) * height * factor + y) * width * factor + x] = v * v + c;
          }
    return createTensor(dims, out);
  };
}

describe('tileOrigins', () => {
  it('covers the axis with full-size tiles and at least the requested overlap', () => {
    expect(tileOrigins(16, 16, 4)).toEqual([0]);
    expect(tileOrigins(10, 16, 4)).toEqual([0]);
    expect(tileOrigins(32, 16, 4)).toEqual([0, 12, 16]);
    expect(tileOrigins(128, 64, 16)).toEqual([0, 48, 64]);
    for (const [length, tile, overlap, align] of [[100, 24, 8, 1], [96, 32, 8, 8], [33, 16, 3, 1]] as const) {
      const origins = tileOrigins(length, tile, overlap, align);
      expect(origins[0]).toBe(0);
      expect(origins[origins.length - 1]! + tile).toBe(length - ((length - tile) % align));
      for (let i = 1; i < origins.length; i++) expect(origins[i - 1]! + tile - origins[i]!).toBeGreaterThanOrEqual(overlap);
      origins.forEach((o) => expect(o % align).toBe(0));
    }
  });
});

describe('runTiled', () => {
  const input = createTensor([2, 4, 20, 28], Float32Array.from({ length: 2 * 4 * 20 * 28 }, (_, i) => Math.sin(i * 0.37)));

  // A position-wise function gives the same value from every tile, so blending must reproduce the
  // untiled result up to float32 rounding of the normalised weights (≤ 1e-5 relative).
  it('decodes in overlapping tiles to the untiled result (upsampling ×4)', async () => {
    const whole = await upsample(4, 3)(input);
    const tiled = await runTiled(input, 4, { tileSize: 8, overlap: 2 }, upsample(4, 3));
    expect(tiled.dims).toEqual([2, 3, 80, 112]);
    let worst = 0;
    for (let i = 0; i < whole.data.length; i++) worst = Math.max(worst, Math.abs(tiled.data[i]! - whole.data[i]!) / (1 + Math.abs(whole.data[i]!)));
    expect(worst).toBeLessThanOrEqual(1e-5);
  });

  it('encodes in aligned tiles (downsampling by 1/4)', async () => {
    const image = createTensor([1, 3, 32, 48], Float32Array.from({ length: 3 * 32 * 48 }, (_, i) => i % 7));
    const down = async (tile: Tensor<Float32Array>): Promise<Tensor<Float32Array>> => {
      const [b = 0, c = 0, h = 0, w = 0] = tile.dims;
      const dims = [b, c, h / 4, w / 4];
      const out = new Float32Array(numel(dims));
      for (let ch = 0; ch < b * c; ch++)
        for (let y = 0; y < h / 4; y++) for (let x = 0; x < w / 4; x++) out[(ch * (h / 4) + y) * (w / 4) + x] = tile.data[(ch * h + y * 4) * w + x * 4]!;
      return createTensor(dims, out);
    };
    const whole = await down(image);
    const tiled = await runTiled(image, 1 / 4, { tileSize: 16, overlap: 4, alignment: 4 }, down);
    expect(tiled.dims).toEqual([1, 3, 8, 12]);
    for (let i = 0; i < whole.data.length; i++) expect(tiled.data[i]).toBeCloseTo(whole.data[i]!, 5);
  });

  it('calls the model once per tile, each time with a full-size tile', async () => {
    const seen: (readonly number[])[] = [];
    await runTiled(input, 4, { tileSize: 8, overlap: 2 }, async (tile) => (seen.push(tile.dims), upsample(4, 3)(tile)));
    expect(seen.length).toBe(tileOrigins(20, 8, 2).length * tileOrigins(28, 8, 2).length);
    seen.forEach((dims) => expect(dims).toEqual([2, 4, 8, 8]));
  });

  it('rejects an overlap as large as the tile', async () => {
    await expect(runTiled(input, 4, { tileSize: 8, overlap: 8 }, upsample(4, 3))).rejects.toThrow(/overlap < tileSize/);
  });
});
