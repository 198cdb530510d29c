/**
 * Base64 images in and out: PNG for results and previews (what A1111 returns), and anything
 * sharp reads (PNG, JPEG, WebP) for init images and masks, with or without a `data:` prefix.
 */
import { InvalidArgumentError } from '@latentkit/core';
import sharp from 'sharp';

/** An 8-bit interleaved image. */
export interface PixelImage {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3;
  readonly data: Uint8Array;
}

/**
 * Encodes an 8-bit RGB or grey image as a base64 PNG (no `data:` prefix, as A1111).
 *
 * @example
 * ```ts
 * const base64 = await encodePng(result.images[0]);
 * ```
 */
export async function encodePng(image: { width: number; height: number; channels: number; data: Uint8Array }): Promise<string> {
  const input = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.length);
  const png = await sharp(input, { raw: { width: image.width, height: image.height, channels: image.channels as 1 | 3 } })
    .png({ compressionLevel: 6 })
    .toBuffer();
  return png.toString('base64');
}

/**
 * Decodes a base64 image (optionally `data:image/…;base64,`) to 8-bit RGB (or grey for masks),
 * resized to cover `width × height` when given. Throws {@link InvalidArgumentError} naming `field`.
 *
 * @example
 * ```ts
 * const init = await decodeImage(body.init_images[0], 'init_images', { width: 512, height: 512 });
 * ```
 */
export async function decodeImage(base64: string, field: string, options: { width?: number; height?: number; grey?: boolean } = {}): Promise<PixelImage> {
  const comma = base64.startsWith('data:') ? base64.indexOf(',') : -1;
  const bytes = Buffer.from(comma >= 0 ? base64.slice(comma + 1) : base64, 'base64');
  if (bytes.length === 0) throw new InvalidArgumentError({ name: field, expected: 'a base64 PNG, JPEG or WebP image', actual: '(empty)' });
  try {
    let pipeline = sharp(bytes, { limitInputPixels: 64 * 1024 * 1024 }).removeAlpha();
    if (options.width !== undefined || options.height !== undefined) pipeline = pipeline.resize(options.width, options.height, { fit: 'cover' });
    pipeline = options.grey ? pipeline.greyscale() : pipeline.toColourspace('srgb');
    const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
    const channels = options.grey ? 1 : 3;
    if (info.channels !== channels) throw new Error(`${info.channels} channels after conversion`);
    return { width: info.width, height: info.height, channels, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  } catch (error) {
    throw new InvalidArgumentError({
      name: field,
      expected: 'a base64 PNG, JPEG or WebP image',
      actual: `${bytes.length} bytes sharp cannot read`,
      hint: error instanceof Error ? error.message : undefined,
    });
  }
}
