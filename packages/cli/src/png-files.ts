/**
 * PNG (and any format sharp reads) in, PNG out. sharp is loaded on first use only, so that
 * `latentkit inspect` and `--help` start without it.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { UsageError } from './usage-error';

/** An 8-bit interleaved image as the pipeline takes and returns them. */
export interface PixelImage {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3;
  readonly data: Uint8Array;
}

type Sharp = typeof import('sharp');
let sharpModule: Sharp | undefined;

function loadSharp(): Sharp {
  if (!sharpModule) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      sharpModule = require('sharp') as Sharp;
    } catch (error) {
      throw new Error(
        `cannot load sharp, which reads and writes images (${error instanceof Error ? error.message : String(error)}): ` +
          'reinstall @latentkit/cli so that npm fetches the sharp binary for this platform (npm install --include=optional)',
        { cause: error },
      );
    }
  }
  return sharpModule;
}

/** Options of {@link readImageFile}. */
export interface ReadImageOptions {
  /** Resize (centre crop to fill) to this size when given and different. */
  readonly width?: number;
  readonly height?: number;
  /** Read as one grey channel (for masks) instead of RGB. */
  readonly grey?: boolean;
}

/**
 * Reads an image file as 8-bit RGB (or grey), alpha removed.
 *
 * @example
 * ```ts
 * const image = await readImageFile('in.png'); // { width, height, channels: 3, data }
 * ```
 */
export async function readImageFile(file: string, flag: string, options: ReadImageOptions = {}): Promise<PixelImage> {
  try {
    await fs.access(file);
  } catch {
    throw new UsageError(`${flag} ${file}: the file does not exist`);
  }
  const sharp = loadSharp();
  let pipeline = sharp(file).removeAlpha();
  if (options.width !== undefined || options.height !== undefined) {
    pipeline = pipeline.resize(options.width, options.height, { fit: 'cover' });
  }
  pipeline = options.grey ? pipeline.greyscale() : pipeline.toColourspace('srgb');
  let result: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    result = await pipeline.raw().toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw new UsageError(`${flag} ${file}: not an image sharp can read (${error instanceof Error ? error.message : String(error)})`);
  }
  const { data, info } = result;
  const channels = options.grey ? 1 : 3;
  if (info.channels !== channels) {
    throw new UsageError(`${flag} ${file}: expected ${channels} channel${channels === 1 ? '' : 's'} after conversion, got ${info.channels}`);
  }
  return { width: info.width, height: info.height, channels, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

/**
 * Writes an 8-bit RGB image as PNG, creating the folder if needed.
 *
 * @example
 * ```ts
 * await writePngFile('out.png', result.images[0]);
 * ```
 */
export async function writePngFile(file: string, image: { width: number; height: number; channels: number; data: Uint8Array }): Promise<void> {
  const sharp = loadSharp();
  await fs.mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const input = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.length);
  await sharp(input, { raw: { width: image.width, height: image.height, channels: image.channels as 1 | 3 } }).png().toFile(file);
}

/**
 * `out.png`, image 2 of 3 → `out-2.png`; a single image keeps the name.
 *
 * @example
 * ```ts
 * numberedPath('out.png', 1, 3); // 'out-2.png'
 * ```
 */
export function numberedPath(file: string, index: number, count: number): string {
  if (count <= 1) return file;
  const extension = path.extname(file);
  return `${file.slice(0, file.length - extension.length)}-${index + 1}${extension || '.png'}`;
}
