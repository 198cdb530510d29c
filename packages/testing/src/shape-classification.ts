/**
 * Telling circle, square and triangle apart from a foreground mask, with two statistics of the
 * shape's bounding box that need no model: how much of the box it fills, and how much of each
 * corner of the box it fills. The ideal values follow from the geometry of the training images
 * (`tools/train-tiny/dataset.py`: a circle inscribed in the box, a square filling it, a triangle
 * with its apex at the top middle and its base on the bottom edge).
 */
import type { ShapeName } from './shape-palette';

/** Ideal bounding-box fill ratios: square 1, circle π/4, triangle 1/2. */
export const SHAPE_FILL_RATIOS: Readonly<Record<ShapeName, number>> = Object.freeze({
  square: 1,
  circle: Math.PI / 4,
  triangle: 0.5,
});

/** Side of a corner cell, as a fraction of the bounding box's side. */
export const CORNER_CELL = 0.15;

/**
 * Ideal fill of the four corner cells `[top-left, top-right, bottom-left, bottom-right]`: a circle
 * leaves every corner empty; a square fills all; the triangle's base corners are filled except
 * for the wedge left of its sides, `(0.15 − 0.15/4) / 0.15 = 3/4`, and its top corners are empty.
 */
export const SHAPE_CORNER_FILLS: Readonly<Record<ShapeName, readonly [number, number, number, number]>> = Object.freeze({
  square: [1, 1, 1, 1],
  circle: [0, 0, 0, 0],
  triangle: [0, 0, 0.75, 0.75],
});

/** A foreground mask (1 = shape) and the bounding box of the shape in it. */
export interface MaskRegion {
  readonly mask: Uint8Array;
  /** Row length of the mask. */
  readonly width: number;
  readonly box: { readonly x: number; readonly y: number; readonly width: number; readonly height: number };
}

/**
 * The filled fraction of each corner cell of the bounding box, `[top-left, top-right, bottom-left, bottom-right]`.
 *
 * @example
 * ```ts
 * cornerFills({ mask, width: 64, box: { x: 10, y: 10, width: 30, height: 30 } }); // [0, 0, 0, 0] for a circle
 * ```
 */
export function cornerFills({ mask, width, box }: MaskRegion): [number, number, number, number] {
  const cellWidth = Math.max(1, Math.round(box.width * CORNER_CELL));
  const cellHeight = Math.max(1, Math.round(box.height * CORNER_CELL));
  const fill = (x0: number, y0: number) => {
    let filled = 0;
    for (let y = y0; y < y0 + cellHeight; y++) for (let x = x0; x < x0 + cellWidth; x++) filled += mask[y * width + x]!;
    return filled / (cellWidth * cellHeight);
  };
  const right = box.x + box.width - cellWidth;
  const bottom = box.y + box.height - cellHeight;
  return [fill(box.x, box.y), fill(right, box.y), fill(box.x, bottom), fill(right, bottom)];
}

/**
 * The shape whose ideal fill ratio is nearest (boundaries at the midpoints 0.643 and 0.893).
 *
 * @example
 * ```ts
 * shapeFromFillRatio(0.8); // 'circle'
 * ```
 */
export function shapeFromFillRatio(fillRatio: number): ShapeName {
  let best: ShapeName = 'square';
  for (const shape of Object.keys(SHAPE_FILL_RATIOS) as ShapeName[]) {
    if (Math.abs(fillRatio - SHAPE_FILL_RATIOS[shape]) < Math.abs(fillRatio - SHAPE_FILL_RATIOS[best])) best = shape;
  }
  return best;
}

/**
 * The shape nearest to the measured statistics: the distance to each shape's ideal is the
 * fill-ratio error plus the mean corner error, so that the corners settle what the fill ratio
 * alone cannot (a square with a notch fills 0.8 of its box, like a circle, but keeps its corners).
 *
 * @example
 * ```ts
 * classifyShape(0.8, [1, 1, 1, 0]); // 'square'
 * classifyShape(0.8, [0, 0, 0, 0]); // 'circle'
 * ```
 */
export function classifyShape(fillRatio: number, corners: readonly [number, number, number, number]): ShapeName {
  let best: ShapeName = 'square';
  let bestDistance = Infinity;
  for (const shape of Object.keys(SHAPE_FILL_RATIOS) as ShapeName[]) {
    const ideal = SHAPE_CORNER_FILLS[shape];
    const cornerError = corners.reduce((sum, c, i) => sum + Math.abs(c - ideal[i]!), 0) / 4;
    const distance = Math.abs(fillRatio - SHAPE_FILL_RATIOS[shape]) + cornerError;
    if (distance < bestDistance) {
      best = shape;
      bestDistance = distance;
    }
  }
  return best;
}
