import { InvalidArgumentError } from '@latentkit/core';
import { classifyShape, shapeFromFillRatio } from './shape-classification';
import { analyseShapeImage } from './shape-image-analyser';
import { renderShapeImage } from './shape-image-render';
import { PALETTE_COLOURS, SHAPE_NAMES, SHAPE_PALETTE, type PaletteColour, type ShapeName } from './shape-palette';
import { SeededGenerator } from './seeded-generator';

/** Adds N(0, sigma²) noise per sample, clamped to 0..255, as a stand-in for a model's imperfection. */
function withNoise(image: ReturnType<typeof renderShapeImage>, sigma: number, seed: number) {
  const noise = new SeededGenerator(seed).randn([image.data.length]);
  const data = image.data.map((v, i) => Math.min(255, Math.max(0, Math.round(v + sigma * noise[i]!))));
  return { ...image, data };
}

describe('analyseShapeImage', () => {
  // Every shape × every ordered colour pair, at sizes and positions spanning the training set's
  // ranges (side 0.34–0.70 of 64 px, fully inside the frame): 3 × 56 × 3 = 504 images.
  const placements = [
    { size: 22, centerX: 14, centerY: 50 },
    { size: 32, centerX: 32, centerY: 32 },
    { size: 44.8, centerX: 40.3, centerY: 23.6 },
  ];
  const cases: [ShapeName, PaletteColour, PaletteColour][] = [];
  for (const shape of SHAPE_NAMES)
    for (const foreground of PALETTE_COLOURS)
      for (const background of PALETTE_COLOURS) if (foreground !== background) cases.push([shape, foreground, background]);

  it.each(cases)('reads a %s, %s on %s, at three sizes and positions', (shape, foreground, background) => {
    for (const placement of placements) {
      const found = analyseShapeImage(renderShapeImage({ shape, foreground, background, ...placement }));
      expect({ shape: found.shape, foreground: found.foreground, background: found.background }).toEqual({ shape, foreground, background });
      // Flat colours: the measured background is the palette colour exactly; the shape's interior
      // mean is within 1 level (rounding of the anti-aliased rim excluded by the interior mask).
      expect(found.backgroundDistance).toBe(0);
      expect(found.foregroundDistance!).toBeLessThanOrEqual(1);
      expect(found.problems).toEqual([]);
      expect(found.clean).toBe(true);
    }
  });

  it('measures fill ratios near the ideal 1, π/4 and 1/2 (tolerance 0.06 at 32 px)', () => {
    const ratio = (shape: ShapeName) => analyseShapeImage(renderShapeImage({ shape, foreground: 'red', background: 'blue', size: 32 })).fillRatio;
    expect(Math.abs(ratio('square') - 1)).toBeLessThanOrEqual(0.06);
    expect(Math.abs(ratio('circle') - Math.PI / 4)).toBeLessThanOrEqual(0.06);
    expect(Math.abs(ratio('triangle') - 0.5)).toBeLessThanOrEqual(0.06);
  });

  it('reports the bounding box and the foreground fraction', () => {
    const found = analyseShapeImage(renderShapeImage({ shape: 'square', foreground: 'white', background: 'black', size: 20, centerX: 20, centerY: 30 }));
    expect(found.boundingBox).toEqual({ x: 10, y: 20, width: 20, height: 20 });
    expect(found.fillRatio).toBe(1);
    expect(found.foregroundFraction).toBe(400 / 4096);
  });

  it('is robust to pixel noise (σ = 20 levels) and stray specks', () => {
    for (const [seed, [shape, foreground, background]] of [
      ['circle', 'red', 'blue'],
      ['square', 'yellow', 'purple'],
      ['triangle', 'green', 'white'],
      ['circle', 'orange', 'black'],
    ].entries()) {
      const noisy = withNoise(renderShapeImage({ shape: shape as ShapeName, foreground: foreground as PaletteColour, background: background as PaletteColour, size: 36 }), 20, seed);
      // A 2×2 speck of another colour far from the shape must not be taken for it.
      const speck = background === 'white' ? SHAPE_PALETTE.black : SHAPE_PALETTE.white;
      for (const [x, y] of [[2, 2], [3, 2], [2, 3], [3, 3]] as const) noisy.data.set(speck, (y * 64 + x) * 3);
      const found = analyseShapeImage(noisy);
      expect([found.shape, found.foreground, found.background]).toEqual([shape, foreground, background]);
    }
  });

  it('tells yellow from orange, the closest pair of the palette (80.6 apart)', () => {
    expect(analyseShapeImage(renderShapeImage({ shape: 'circle', foreground: 'yellow', background: 'orange', size: 30 })).foreground).toBe('yellow');
    expect(analyseShapeImage(renderShapeImage({ shape: 'circle', foreground: 'orange', background: 'yellow', size: 30 })).foreground).toBe('orange');
  });

  it('reads the background even when the shape touches the border', () => {
    const found = analyseShapeImage(renderShapeImage({ shape: 'square', foreground: 'green', background: 'red', size: 40, centerX: 20, centerY: 20 }));
    expect(found.background).toBe('red');
    expect(found.foreground).toBe('green');
  });

  it('accepts RGBA and Uint8ClampedArray data, ignoring alpha', () => {
    const rgb = renderShapeImage({ shape: 'triangle', foreground: 'purple', background: 'yellow', size: 40 });
    const rgba = new Uint8ClampedArray(64 * 64 * 4);
    for (let i = 0; i < 64 * 64; i++) rgba.set([...rgb.data.subarray(i * 3, i * 3 + 3), i % 256], i * 4);
    const found = analyseShapeImage({ width: 64, height: 64, channels: 4, data: rgba });
    expect([found.shape, found.foreground, found.background]).toEqual(['triangle', 'purple', 'yellow']);
  });

  it('works on other sizes than 64×64 (32×32, the tiny-sd reference)', () => {
    const found = analyseShapeImage(renderShapeImage({ shape: 'circle', foreground: 'red', background: 'blue', size: 16, width: 32, height: 32 }));
    expect([found.shape, found.foreground, found.background]).toEqual(['circle', 'red', 'blue']);
  });

  it('flags images unlike the training set as not clean, and says why', () => {
    // A red band across a blue image: right colours, but no shape the training set has.
    const band = renderShapeImage({ shape: 'square', foreground: 'red', background: 'blue', size: 1 });
    for (let y = 24; y < 40; y++) for (let x = 0; x < 64; x++) band.data.set(SHAPE_PALETTE.red, (y * 64 + x) * 3);
    expect(analyseShapeImage(band)).toMatchObject({
      clean: false,
      problems: ['the shape spans the whole width of the image'],
    });
    // A muddy colour field, far from every palette colour.
    const mud = new Uint8Array(64 * 64 * 3);
    for (let i = 0; i < mud.length; i += 3) mud.set((i / 3) % 64 < 40 ? [166, 116, 79] : [136, 112, 148], i);
    const found = analyseShapeImage({ width: 64, height: 64, channels: 3, data: mud });
    expect(found.clean).toBe(false);
    expect(found.problems).toEqual([
      "the border's median colour is 101.5 from orange (more than 40.3)",
      "the shape's mean colour is 88.9 from purple (more than 40.3)",
      'the shape spans the whole height of the image',
    ]);
  });

  it('reports no shape on a flat image', () => {
    const data = new Uint8Array(64 * 64 * 3);
    for (let i = 0; i < data.length; i += 3) data.set(SHAPE_PALETTE.green, i);
    const found = analyseShapeImage({ width: 64, height: 64, channels: 3, data });
    expect(found).toMatchObject({ background: 'green', foreground: null, shape: null, fillRatio: 0, boundingBox: null, foregroundFraction: 0, clean: false, problems: ['no region stands out from the background'] });
  });

  it('rejects malformed images with InvalidArgumentError naming the field', () => {
    const bad = [
      [{ width: 64, height: 64, channels: 3, data: new Uint8Array(10) }, 'image.data must be 12288 bytes (64×64×3), got Uint8Array(10)'],
      [{ width: 64, height: 64, channels: 1, data: new Uint8Array(4096) }, 'image.channels must be 3 (RGB) or 4 (RGBA), got 1'],
      [{ width: 0, height: 64, channels: 3, data: new Uint8Array(0) }, 'image.width must be an integer ≥ 3, got 0'],
      [{ width: 2, height: 2, channels: 3, data: new Float32Array(12) }, 'image.width must be an integer ≥ 3, got 2'],
      [{ width: 4, height: 4, channels: 3, data: new Float32Array(48) }, 'image.data must be a Uint8Array of interleaved 8-bit samples, got Float32Array(48)'],
    ] as const;
    for (const [image, message] of bad) {
      let error: unknown;
      try {
        analyseShapeImage(image as never);
      } catch (e) {
        error = e;
      }
      expect(InvalidArgumentError.isInstance(error)).toBe(true);
      expect((error as Error).message).toBe(message);
    }
  });

  it('reads a square with a notch as a square: it fills 0.8 of its box, like a circle, but keeps three corners', () => {
    // What an undertrained model draws (seen with latentkit-tiny's interim export).
    const notched = renderShapeImage({ shape: 'square', foreground: 'green', background: 'white', size: 40 });
    for (let y = 32; y < 52; y++) for (let x = 42; x < 52; x++) notched.data.set(SHAPE_PALETTE.white, (y * 64 + x) * 3);
    const found = analyseShapeImage(notched);
    expect(found.fillRatio).toBeCloseTo(0.875, 3);
    expect(found.cornerFills).toEqual([1, 1, 1, 0]);
    expect(found.shape).toBe('square');
    expect(classifyShape(0.8, [0, 0, 0, 0])).toBe('circle');
    expect(classifyShape(0.8, [1, 1, 1, 0])).toBe('square');
    expect(classifyShape(0.55, [0, 0, 0.7, 0.8])).toBe('triangle');
    // Measured on latentkit-tiny's interim "a green square on a white background", seed 1: a notch
    // takes the bottom-right corner and the others are worn.
    expect(classifyShape(0.796, [0.69, 0.95, 0.81, 0])).toBe('square');
  });

  it('measures corner fills near the ideal 1, 0 and [0, 0, 3/4, 3/4] (tolerance 0.15 at 40 px)', () => {
    const corners = (shape: ShapeName) => analyseShapeImage(renderShapeImage({ shape, foreground: 'red', background: 'blue', size: 40 })).cornerFills!;
    const close = (actual: readonly number[], expected: readonly number[]) => actual.forEach((c, i) => expect(Math.abs(c - expected[i]!)).toBeLessThanOrEqual(0.15));
    close(corners('square'), [1, 1, 1, 1]);
    close(corners('circle'), [0, 0, 0, 0]);
    close(corners('triangle'), [0, 0, 0.75, 0.75]);
  });

  it('splits fill ratios at the midpoints between the ideal values', () => {
    expect(shapeFromFillRatio(0.64)).toBe('triangle');
    expect(shapeFromFillRatio(0.65)).toBe('circle');
    expect(shapeFromFillRatio(0.89)).toBe('circle');
    expect(shapeFromFillRatio(0.9)).toBe('square');
  });
});
