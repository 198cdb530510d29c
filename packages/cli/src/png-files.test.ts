import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { renderShapeImage } from '@latentkit/testing';
import { numberedPath, readImageFile, writePngFile } from './png-files';
import { UsageError } from './usage-error';
import { scratchFolder } from './__fixtures__/scratch-folder';

describe('PNG files', () => {
  const scratch = scratchFolder('latentkit-png-');

  it('writes and reads back 8-bit RGB exactly (PNG is lossless), creating folders', async () => {
    const image = renderShapeImage({ shape: 'circle', foreground: 'red', background: 'blue', size: 20, width: 32, height: 32 });
    const file = path.join(scratch(), 'nested', 'circle.png');
    await writePngFile(file, image);
    const back = await readImageFile(file, '--image');
    expect([back.width, back.height, back.channels]).toEqual([32, 32, 3]);
    expect(Buffer.from(back.data).equals(Buffer.from(image.data))).toBe(true);
  });

  it('reads a mask as one grey channel, resized to the image', async () => {
    const file = path.join(scratch(), 'mask.png');
    await writePngFile(file, renderShapeImage({ shape: 'square', foreground: 'white', background: 'black', size: 16, width: 32, height: 32 }));
    const mask = await readImageFile(file, '--mask', { width: 16, height: 16, grey: true });
    expect([mask.width, mask.height, mask.channels, mask.data.length]).toEqual([16, 16, 1, 256]);
  });

  it('reports a missing or unreadable file as a usage error naming the flag and the file', async () => {
    await expect(readImageFile(path.join(scratch(), 'none.png'), '--image')).rejects.toThrow(`--image ${path.join(scratch(), 'none.png')}: the file does not exist`);
    const text = path.join(scratch(), 'text.png');
    writeFileSync(text, 'not an image');
    const error = await readImageFile(text, '--image').catch((e: unknown) => e);
    expect(UsageError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(new RegExp(`^--image ${text}: not an image sharp can read`));
  });

  it('numbers outputs only when there are several', () => {
    expect(numberedPath('out.png', 0, 1)).toBe('out.png');
    expect(numberedPath('out.png', 1, 3)).toBe('out-2.png');
    expect(numberedPath('renders/out', 0, 2)).toBe('renders/out-1.png');
  });
});
