/**
 * Renders the images latentkit-tiny was trained on, procedurally and deterministically: one
 * shape on a flat background, supersampled and box-filtered like `tools/train-tiny/dataset.py`
 * (PIL at 4× then `Image.BOX`). Tests use it to make inputs (img2img, analyser checks) without
 * shipping image files.
 */
import { InvalidArgumentError } from '@latentkit/core';
import { SHAPE_NAMES, SHAPE_PALETTE, type PaletteColour, type Rgb, type ShapeName } from './shape-palette';

/** An 8-bit interleaved image, as the pipeline takes and returns them. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  /** 3 (RGB) or 4 (RGBA; alpha is ignored by the analyser). */
  readonly channels: number;
  readonly data: Uint8Array | Uint8ClampedArray;
}

/** What to draw. */
export interface ShapeImageSpec {
  readonly shape: ShapeName;
  /** A palette name or an RGB triple. */
  readonly foreground: PaletteColour | Rgb;
  readonly background: PaletteColour | Rgb;
  /** Side of the square / diameter of the circle / side of the triangle's bounding box, in pixels. */
  readonly size: number;
  /** Centre of the shape's bounding box in pixels (default: the image centre). */
  readonly centerX?: number;
  readonly centerY?: number;
  /** Default 64. */
  readonly width?: number;
  /** Default 64. */
  readonly height?: number;
  /** Samples per pixel side for anti-aliasing (default 4, as the training set). */
  readonly supersampling?: number;
}

function toRgb(name: string, colour: PaletteColour | Rgb): Rgb {
  if (typeof colour === 'string') {
    const rgb = SHAPE_PALETTE[colour];
    if (!rgb) throw new InvalidArgumentError({ name, expected: `a palette colour (${Object.keys(SHAPE_PALETTE).join(', ')}) or [r, g, b]`, actual: colour });
    return rgb;
  }
  if (!Array.isArray(colour) || colour.length !== 3 || !colour.every((c) => Number.isFinite(c) && c >= 0 && c <= 255)) {
    throw new InvalidArgumentError({ name, expected: 'a palette colour name or [r, g, b] with values in 0..255', actual: colour });
  }
  return colour;
}

/** Whether a point lies inside the shape whose bounding box is [x0, x1] × [y0, y1]. */
function inside(shape: ShapeName, x: number, y: number, x0: number, y0: number, x1: number, y1: number): boolean {
  if (x < x0 || x > x1 || y < y0 || y > y1) return false;
  if (shape === 'square') return true;
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  if (shape === 'circle') {
    const rx = (x1 - x0) / 2;
    const ry = (y1 - y0) / 2;
    return ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1;
  }
  // Triangle with its apex at the top middle and its base on the bottom edge (as dataset.py):
  // at height y the half-width grows linearly from 0 at y0 to (x1 − x0)/2 at y1.
  const halfWidth = ((y - y0) / (y1 - y0)) * ((x1 - x0) / 2);
  return Math.abs(x - cx) <= halfWidth;
}

/**
 * Draws one anti-aliased shape on a flat background.
 *
 * @example
 * ```ts
 * const image = renderShapeImage({ shape: 'circle', foreground: 'red', background: 'blue', size: 30 });
 * analyseShapeImage(image); // { background: 'blue', foreground: 'red', shape: 'circle', … }
 * ```
 */
export function renderShapeImage(spec: ShapeImageSpec): RgbImage & { readonly channels: 3; readonly data: Uint8Array } {
  const width = spec.width ?? 64;
  const height = spec.height ?? 64;
  const samples = spec.supersampling ?? 4;
  for (const [name, value] of [['width', width], ['height', height], ['supersampling', samples]] as const) {
    if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError({ name, expected: 'a positive integer', actual: value });
  }
  if (!SHAPE_NAMES.includes(spec.shape)) {
    throw new InvalidArgumentError({ name: 'shape', expected: SHAPE_NAMES.map((s) => `'${s}'`).join(' | '), actual: spec.shape });
  }
  if (!Number.isFinite(spec.size) || spec.size <= 0) throw new InvalidArgumentError({ name: 'size', expected: 'a positive number of pixels', actual: spec.size });
  const fg = toRgb('foreground', spec.foreground);
  const bg = toRgb('background', spec.background);
  const cx = spec.centerX ?? width / 2;
  const cy = spec.centerY ?? height / 2;
  const [x0, y0, x1, y1] = [cx - spec.size / 2, cy - spec.size / 2, cx + spec.size / 2, cy + spec.size / 2];

  const data = new Uint8Array(width * height * 3);
  const perPixel = samples * samples;
  for (let py = 0; py < height; py++) {
    for (let px = 0; px < width; px++) {
      let covered = 0;
      for (let sy = 0; sy < samples; sy++) {
        for (let sx = 0; sx < samples; sx++) {
          if (inside(spec.shape, px + (sx + 0.5) / samples, py + (sy + 0.5) / samples, x0, y0, x1, y1)) covered++;
        }
      }
      // Box filter: the pixel is the mean of its sub-samples, i.e. a coverage-weighted blend.
      const alpha = covered / perPixel;
      const offset = (py * width + px) * 3;
      for (let c = 0; c < 3; c++) data[offset + c] = Math.round(bg[c]! + (fg[c]! - bg[c]!) * alpha);
    }
  }
  return { width, height, channels: 3, data };
}
