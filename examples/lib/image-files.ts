/**
 * Reading an input image for the examples: a PNG/JPEG file through sharp (resized to the model's
 * side), or a shape rendered like latentkit-tiny's training images when no file is given.
 */
import sharp from 'sharp';
import { renderShapeImage, type PaletteColour, type ShapeName } from '@latentkit/testing';
import type { Rgb8Image } from './images';

/**
 * The image at `file` as 8-bit RGB of `side`×`side`, or a rendered shape when `file` is empty.
 *
 * @example
 * ```ts
 * const image = await loadInputImage('', 64, { shape: 'circle', foreground: 'red', background: 'blue' });
 * ```
 */
export async function loadInputImage(
  file: string,
  side: number,
  shape: { shape: ShapeName; foreground: PaletteColour; background: PaletteColour } = { shape: 'circle', foreground: 'red', background: 'blue' },
): Promise<Rgb8Image> {
  if (!file) return renderShapeImage({ ...shape, size: side * 0.5, width: side, height: side });
  const { data, info } = await sharp(file).removeAlpha().resize(side, side, { fit: 'cover' }).raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, channels: 3, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}
