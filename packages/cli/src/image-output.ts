/**
 * Where the images go: every output path is checked before any compute (a known image extension,
 * a parent that is or can become a folder, a target that is a writable regular file or absent), and
 * each image is written in the format its extension names, through sharp.
 */
import { constants as fsConstants, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { UsageError } from './usage-error';

/** The formats `--out` can write, by extension. */
export const OUTPUT_FORMATS = { '.png': 'png', '.jpg': 'jpeg', '.jpeg': 'jpeg', '.webp': 'webp' } as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[keyof typeof OUTPUT_FORMATS];

/** An image write that failed at run time (disk full, permission lost): exit code 1, not a usage error. */
export class OutputWriteError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OutputWriteError';
  }
}

/**
 * The format an output path's extension names; a {@link UsageError} for any other extension.
 *
 * @example
 * ```ts
 * outputFormat('cat.JPG'); // 'jpeg'
 * ```
 */
export function outputFormat(file: string): OutputFormat {
  const extension = path.extname(file).toLowerCase();
  const format = (OUTPUT_FORMATS as Record<string, OutputFormat>)[extension];
  if (!format) {
    throw new UsageError(
      `--out ${file}: ${extension ? `'${extension}' is not an image format latentkit writes` : 'the name has no extension'}; use ${Object.keys(OUTPUT_FORMATS).join(', ')}`,
    );
  }
  return format;
}

function describeErrno(error: unknown): string {
  const code = (error as NodeJS.ErrnoException)?.code;
  const meaning: Record<string, string> = {
    ENOSPC: 'no space left on the device',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'the file system is read-only',
    EISDIR: 'it is a folder',
    ENOTDIR: 'a part of the path is a file, not a folder',
    EEXIST: 'a file is in the way',
    EDQUOT: 'disk quota exceeded',
    EIO: 'input/output error',
  };
  return code ? `${meaning[code] ?? (error as Error).message} (${code})` : String((error as Error)?.message ?? error);
}

/** The nearest ancestor of `folder` that exists, and what it is. */
async function existingAncestor(folder: string): Promise<{ dir: string; isDirectory: boolean }> {
  let current = folder;
  for (;;) {
    try {
      const stat = await fs.stat(current);
      return { dir: current, isDirectory: stat.isDirectory() };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // ENOTDIR: a file is somewhere above; keep climbing to name it.
      if (code !== 'ENOENT' && code !== 'ENOTDIR') return { dir: current, isDirectory: true };
      const parent = path.dirname(current);
      if (parent === current) return { dir: current, isDirectory: true };
      current = parent;
    }
  }
}

/**
 * Checks that every path can be written, before any compute. A {@link UsageError} names the path
 * and the reason.
 *
 * @example
 * ```ts
 * await checkOutputPaths(['out-1.png', 'out-2.png']);
 * ```
 */
export async function checkOutputPaths(files: readonly string[]): Promise<void> {
  for (const file of files) {
    const target = path.resolve(file);
    let stat: Awaited<ReturnType<typeof fs.stat>> | undefined;
    try {
      stat = await fs.stat(target);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR') stat = undefined;
      else if (code !== 'ENOENT') throw new UsageError(`--out ${file}: cannot use it: ${describeErrno(error)}`);
    }
    if (stat?.isDirectory()) throw new UsageError(`--out ${file}: it is a folder; name an image file, e.g. ${path.join(file, 'out.png')}`);
    if (stat && !stat.isFile()) throw new UsageError(`--out ${file}: it is not a regular file (a device or a pipe); name an image file`);
    outputFormat(file);
    const { dir, isDirectory } = await existingAncestor(path.dirname(target));
    if (!isDirectory) throw new UsageError(`--out ${file}: ${dir} is a file, not a folder; choose another path`);
    try {
      await fs.access(stat ? target : dir, fsConstants.W_OK);
    } catch (error) {
      throw new UsageError(`--out ${file}: ${stat ? 'the file' : `the folder ${dir}`} is not writable (${describeErrno(error)})`);
    }
  }
}

/**
 * Writes an 8-bit image in the format of the path's extension (PNG lossless; JPEG and WebP at
 * quality 95), creating the folder if needed. Failures become one clear {@link OutputWriteError}.
 *
 * @example
 * ```ts
 * await writeImageFile('out.webp', result.images[0]);
 * ```
 */
export async function writeImageFile(file: string, image: { width: number; height: number; channels: number; data: Uint8Array }): Promise<void> {
  const format = outputFormat(file);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const sharp = require('sharp') as typeof import('sharp');
  const input = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.length);
  try {
    await fs.mkdir(path.dirname(path.resolve(file)), { recursive: true });
    const encoder = sharp(input, { raw: { width: image.width, height: image.height, channels: image.channels as 1 | 3 } });
    const encoded = format === 'png' ? encoder.png() : format === 'jpeg' ? encoder.jpeg({ quality: 95 }) : encoder.webp({ quality: 95 });
    // Encode in memory, then write with fs: file-system errors then keep their errno (libvips' own
    // messages would not).
    await fs.writeFile(file, await encoded.toBuffer());
  } catch (error) {
    throw new OutputWriteError(`cannot write ${file}: ${describeErrno(error)}`, { cause: error });
  }
}
