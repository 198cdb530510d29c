/**
 * Fitting an input image (img2img, inpaint, denoise) to the size the run needs, as AUTOMATIC1111's
 * resize modes: `crop` ("crop and resize": scale to cover, centre crop), `fit` ("resize and fill":
 * scale to fit inside, fill the rest by repeating the edge pixels) and `stretch` ("just resize").
 */
import type { PixelImage } from './png-files';

/** The `--resize` modes. */
export const RESIZE_MODES = ['crop', 'fit', 'stretch'] as const;
export type ResizeMode = (typeof RESIZE_MODES)[number];

/**
 * Resizes an 8-bit image (RGB or grey) to `width`×`height` in one of the {@link RESIZE_MODES}.
 *
 * @example
 * ```ts
 * const fitted = await resizeImage(image, 64, 64, 'crop');
 * ```
 */
export async function resizeImage(image: PixelImage, width: number, height: number, mode: ResizeMode): Promise<PixelImage> {
  if (image.width === width && image.height === height) return image;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const sharp = require('sharp') as typeof import('sharp');
  const input = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.length);
  let pipeline = sharp(input, { raw: { width: image.width, height: image.height, channels: image.channels } });
  if (mode === 'stretch') pipeline = pipeline.resize(width, height, { fit: 'fill' });
  else if (mode === 'crop') pipeline = pipeline.resize(width, height, { fit: 'cover', position: 'centre' });
  else {
    const scale = Math.min(width / image.width, height / image.height);
    const inner = { width: Math.max(1, Math.min(width, Math.round(image.width * scale))), height: Math.max(1, Math.min(height, Math.round(image.height * scale))) };
    const left = Math.floor((width - inner.width) / 2);
    const top = Math.floor((height - inner.height) / 2);
    // Two passes: sharp applies extend before resize within one pipeline.
    const resized = await pipeline.resize(inner.width, inner.height, { fit: 'fill' }).raw().toBuffer();
    pipeline = sharp(resized, { raw: { width: inner.width, height: inner.height, channels: image.channels } }).extend({
      left,
      right: width - inner.width - left,
      top,
      bottom: height - inner.height - top,
      extendWith: 'copy',
    });
  }
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  if (info.width !== width || info.height !== height || info.channels !== image.channels) {
    throw new Error(`resizing gave ${info.width}×${info.height}×${info.channels}, expected ${width}×${height}×${image.channels}`);
  }
  return { width, height, channels: image.channels, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}
