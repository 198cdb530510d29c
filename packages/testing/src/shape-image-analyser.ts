/**
 * A deterministic judge of generated shape images: which colour is the background, which colour
 * is the shape, and which shape it is — from pixel statistics alone, so that a test can check
 * that "a red circle on a blue background" produced one.
 *
 * 1. Background: the per-channel median of the border ring (robust to a shape touching an edge).
 * 2. Foreground: pixels farther from the background than half the distance from the background's
 *    palette colour to its nearest other palette colour (the midpoint, so any palette foreground
 *    is separated from it), reduced to the largest 4-connected region to drop speckle noise.
 * 3. Foreground colour: the mean of the region's interior pixels (anti-aliased edges excluded).
 * 4. Shape: the fill ratio of the region's bounding box (ideal: square 1, circle π/4, triangle 1/2)
 *    and the fill of the box's four corner cells (see `shape-classification.ts`).
 */
import { InvalidArgumentError } from '@latentkit/core';
import { classifyShape, cornerFills } from './shape-classification';
import type { RgbImage } from './shape-image-render';
import {
  PALETTE_COLOURS,
  SHAPE_PALETTE,
  colourDistance,
  nearestPaletteColour,
  type PaletteColour,
  type Rgb,
  type ShapeName,
} from './shape-palette';

/** What {@link analyseShapeImage} found. */
export interface ShapeImageAnalysis {
  /** The palette colour nearest the border's median colour. */
  readonly background: PaletteColour;
  /** The palette colour nearest the shape's mean colour; null when no shape was found. */
  readonly foreground: PaletteColour | null;
  /** The shape read from the fill ratio; null when no shape was found. */
  readonly shape: ShapeName | null;
  /** Foreground pixels / bounding-box pixels (0 when no shape was found). */
  readonly fillRatio: number;
  /** Filled fraction of the bounding box's corner cells `[top-left, top-right, bottom-left, bottom-right]`; null when no shape. */
  readonly cornerFills: readonly [number, number, number, number] | null;
  /** The measured colours, before snapping to the palette. */
  readonly backgroundRgb: Rgb;
  readonly foregroundRgb: Rgb | null;
  /** How far the measured colours are from their palette colours (0 = exact). */
  readonly backgroundDistance: number;
  readonly foregroundDistance: number | null;
  /** The shape's bounding box in pixels (inclusive start, exclusive end); null when none. */
  readonly boundingBox: { readonly x: number; readonly y: number; readonly width: number; readonly height: number } | null;
  /** Foreground pixels / all pixels. */
  readonly foregroundFraction: number;
  /** The threshold used to tell foreground from background (RGB distance). */
  readonly threshold: number;
  /**
   * Whether the image looks like a training image: both measured colours within `threshold` of
   * their palette colours, and a shape covering 1–60 % of the image without filling its width or
   * height. When false, `problems` says why and the colour and shape answers are unreliable.
   */
  readonly clean: boolean;
  /** Why the image is not clean (empty when it is). */
  readonly problems: readonly string[];
}

/** The training set's shapes cover about 3–49 % of the image; these bounds leave a margin. */
const MIN_CLEAN_FRACTION = 0.01;
const MAX_CLEAN_FRACTION = 0.6;

function problemsOf(analysis: Omit<ShapeImageAnalysis, 'clean' | 'problems'>, width: number, height: number): string[] {
  const problems: string[] = [];
  const distance = (value: number) => value.toFixed(1);
  if (analysis.backgroundDistance > analysis.threshold) {
    problems.push(`the border's median colour is ${distance(analysis.backgroundDistance)} from ${analysis.background} (more than ${distance(analysis.threshold)})`);
  }
  if (analysis.foreground === null) {
    problems.push('no region stands out from the background');
    return problems;
  }
  if (analysis.foregroundDistance! > analysis.threshold) {
    problems.push(`the shape's mean colour is ${distance(analysis.foregroundDistance!)} from ${analysis.foreground} (more than ${distance(analysis.threshold)})`);
  }
  const percent = (100 * analysis.foregroundFraction).toFixed(1);
  if (analysis.foregroundFraction < MIN_CLEAN_FRACTION || analysis.foregroundFraction > MAX_CLEAN_FRACTION) {
    problems.push(`the shape covers ${percent} % of the image (expected ${100 * MIN_CLEAN_FRACTION}–${100 * MAX_CLEAN_FRACTION} %)`);
  }
  const box = analysis.boundingBox!;
  if (box.width === width || box.height === height) problems.push(`the shape spans the whole ${box.width === width ? 'width' : 'height'} of the image`);
  return problems;
}

/** A region smaller than this many pixels is noise, not a shape. */
const MIN_SHAPE_PIXELS = 9;

function validate(image: RgbImage): void {
  if (typeof image !== 'object' || image === null) {
    throw new InvalidArgumentError({ name: 'image', expected: '{ width, height, channels, data }', actual: image });
  }
  const { width, height, channels, data } = image;
  if (!Number.isInteger(width) || width < 3) throw new InvalidArgumentError({ name: 'image.width', expected: 'an integer ≥ 3', actual: width });
  if (!Number.isInteger(height) || height < 3) throw new InvalidArgumentError({ name: 'image.height', expected: 'an integer ≥ 3', actual: height });
  if (channels !== 3 && channels !== 4) throw new InvalidArgumentError({ name: 'image.channels', expected: '3 (RGB) or 4 (RGBA)', actual: channels });
  if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray)) {
    throw new InvalidArgumentError({ name: 'image.data', expected: 'a Uint8Array of interleaved 8-bit samples', actual: data });
  }
  if (data.length !== width * height * channels) {
    throw new InvalidArgumentError({
      name: 'image.data',
      expected: `${width * height * channels} bytes (${width}×${height}×${channels})`,
      actual: data,
    });
  }
}

function median(values: number[]): number {
  values.sort((a, b) => a - b);
  const mid = values.length >> 1;
  return values.length % 2 ? values[mid]! : (values[mid - 1]! + values[mid]!) / 2;
}

/** The per-channel median of the outermost ring of pixels. */
function borderColour({ width, height, channels, data }: RgbImage): Rgb {
  const samples: number[][] = [[], [], []];
  const add = (x: number, y: number) => {
    const offset = (y * width + x) * channels;
    for (let c = 0; c < 3; c++) samples[c]!.push(data[offset + c]!);
  };
  for (let x = 0; x < width; x++) {
    add(x, 0);
    add(x, height - 1);
  }
  for (let y = 1; y < height - 1; y++) {
    add(0, y);
    add(width - 1, y);
  }
  return [median(samples[0]!), median(samples[1]!), median(samples[2]!)];
}

/** Keeps the largest 4-connected region of a mask (iterative flood fill, no recursion). */
function largestRegion(mask: Uint8Array, width: number): Uint8Array {
  const label = new Int32Array(mask.length);
  const stack = new Int32Array(mask.length);
  let best = 0;
  let bestSize = 0;
  let next = 0;
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || label[start]) continue;
    next++;
    let size = 0;
    let top = 0;
    stack[top++] = start;
    label[start] = next;
    while (top > 0) {
      const index = stack[--top]!;
      size++;
      const x = index % width;
      const neighbours = [x > 0 ? index - 1 : -1, x < width - 1 ? index + 1 : -1, index - width, index + width];
      for (const n of neighbours) {
        if (n < 0 || n >= mask.length || !mask[n] || label[n]) continue;
        label[n] = next;
        stack[top++] = n;
      }
    }
    if (size > bestSize) {
      best = next;
      bestSize = size;
    }
  }
  const region = new Uint8Array(mask.length);
  if (best) for (let i = 0; i < mask.length; i++) region[i] = label[i] === best ? 1 : 0;
  return region;
}

/**
 * Reads a generated image and reports its background colour, the shape's colour and the shape.
 *
 * @example
 * ```ts
 * const { images } = await pipeline.textToImage({ prompt: 'a red circle on a blue background', seed: 1 });
 * const found = analyseShapeImage(images[0]);
 * // { background: 'blue', foreground: 'red', shape: 'circle', fillRatio: 0.79, … }
 * ```
 */
export function analyseShapeImage(image: RgbImage): ShapeImageAnalysis {
  validate(image);
  const { width, height, channels, data } = image;
  const backgroundRgb = borderColour(image);
  const background = nearestPaletteColour(backgroundRgb);
  const paletteBackground = SHAPE_PALETTE[background.colour];
  let nearestOther = Infinity;
  for (const colour of PALETTE_COLOURS) {
    if (colour !== background.colour) nearestOther = Math.min(nearestOther, colourDistance(paletteBackground, SHAPE_PALETTE[colour]));
  }
  const threshold = nearestOther / 2;

  const pixels = width * height;
  const mask = new Uint8Array(pixels);
  for (let i = 0; i < pixels; i++) {
    const o = i * channels;
    if (colourDistance([data[o]!, data[o + 1]!, data[o + 2]!], backgroundRgb) > threshold) mask[i] = 1;
  }
  const region = largestRegion(mask, width);

  let area = 0;
  let [minX, minY, maxX, maxY] = [width, height, -1, -1];
  const interiorSum = [0, 0, 0];
  const allSum = [0, 0, 0];
  let interiorCount = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (!region[i]) continue;
      area++;
      minX = Math.min(minX, x);
      maxX = Math.max(maxX, x);
      minY = Math.min(minY, y);
      maxY = Math.max(maxY, y);
      const o = i * channels;
      const isInterior =
        x > 0 && x < width - 1 && y > 0 && y < height - 1 && region[i - 1] && region[i + 1] && region[i - width] && region[i + width];
      for (let c = 0; c < 3; c++) {
        allSum[c]! += data[o + c]!;
        if (isInterior) interiorSum[c]! += data[o + c]!;
      }
      if (isInterior) interiorCount++;
    }
  }

  const base = {
    background: background.colour,
    backgroundRgb,
    backgroundDistance: background.distance,
    foregroundFraction: area / pixels,
    threshold,
  };
  if (area < MIN_SHAPE_PIXELS) {
    const empty = { ...base, foreground: null, shape: null, fillRatio: 0, cornerFills: null, foregroundRgb: null, foregroundDistance: null, boundingBox: null };
    const problems = problemsOf(empty, width, height);
    return { ...empty, clean: problems.length === 0, problems };
  }
  const [sum, count] = interiorCount > 0 ? [interiorSum, interiorCount] : [allSum, area];
  const foregroundRgb: Rgb = [sum[0]! / count, sum[1]! / count, sum[2]! / count];
  const foreground = nearestPaletteColour(foregroundRgb);
  const boundingBox = { x: minX, y: minY, width: maxX - minX + 1, height: maxY - minY + 1 };
  const fillRatio = area / (boundingBox.width * boundingBox.height);
  const corners = cornerFills({ mask: region, width, box: boundingBox });
  const analysis = {
    ...base,
    foreground: foreground.colour,
    foregroundRgb,
    foregroundDistance: foreground.distance,
    shape: classifyShape(fillRatio, corners),
    fillRatio,
    cornerFills: corners,
    boundingBox,
  };
  const problems = problemsOf(analysis, width, height);
  return { ...analysis, clean: problems.length === 0, problems };
}
