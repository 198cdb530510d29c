/**
 * The palette and shapes of latentkit-tiny's training set (`tools/train-tiny/dataset.py`): one
 * circle, square or triangle in one of eight colours on a background of another.
 */

/** The shapes the tiny model draws. */
export type ShapeName = 'circle' | 'square' | 'triangle';

/** The colours the tiny model draws. */
export type PaletteColour = 'red' | 'green' | 'blue' | 'yellow' | 'white' | 'black' | 'orange' | 'purple';

/** An sRGB colour, 0–255 per channel. */
export type Rgb = readonly [red: number, green: number, blue: number];

/**
 * Every shape name, in the training set's order.
 *
 * @example
 * ```ts
 * for (const shape of SHAPE_NAMES) renderShapeImage({ shape, foreground: 'red', background: 'blue', size: 30 });
 * ```
 */
export const SHAPE_NAMES: readonly ShapeName[] = Object.freeze(['circle', 'square', 'triangle']);

/**
 * The exact RGB values the training images are painted with (`PALETTE` in `dataset.py`).
 *
 * @example
 * ```ts
 * SHAPE_PALETTE.red; // [220, 30, 30]
 * ```
 */
export const SHAPE_PALETTE: Readonly<Record<PaletteColour, Rgb>> = Object.freeze({
  red: [220, 30, 30],
  green: [30, 170, 50],
  blue: [30, 60, 220],
  yellow: [245, 220, 30],
  white: [245, 245, 245],
  black: [15, 15, 15],
  orange: [245, 140, 20],
  purple: [140, 40, 200],
});

/**
 * Every palette colour name, in the training set's order.
 *
 * @example
 * ```ts
 * PALETTE_COLOURS.length; // 8
 * ```
 */
export const PALETTE_COLOURS: readonly PaletteColour[] = Object.freeze(Object.keys(SHAPE_PALETTE) as PaletteColour[]);

/**
 * Euclidean distance between two colours in RGB space (0 … 441.7).
 *
 * @example
 * ```ts
 * colourDistance(SHAPE_PALETTE.yellow, SHAPE_PALETTE.orange); // 80.6, the closest pair
 * ```
 */
export function colourDistance(a: Rgb, b: Rgb): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}

/**
 * The palette colour nearest to an RGB value, and how far it is.
 *
 * @example
 * ```ts
 * nearestPaletteColour([200, 40, 35]); // { colour: 'red', distance: 22.9 }
 * ```
 */
export function nearestPaletteColour(rgb: Rgb): { colour: PaletteColour; distance: number } {
  let best: PaletteColour = PALETTE_COLOURS[0]!;
  let bestDistance = Infinity;
  for (const colour of PALETTE_COLOURS) {
    const distance = colourDistance(rgb, SHAPE_PALETTE[colour]);
    if (distance < bestDistance) {
      best = colour;
      bestDistance = distance;
    }
  }
  return { colour: best, distance: bestDistance };
}
