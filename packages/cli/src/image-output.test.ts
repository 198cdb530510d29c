import { symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { checkOutputPaths, outputFormat, writeImageFile } from './image-output';
import { resizeImage } from './input-resize';
import { readImageFile } from './png-files';
import { scratchFolder } from './__fixtures__/scratch-folder';

describe('image output and input resizing', () => {
  const scratch = scratchFolder('latentkit-out-');

  it('maps extensions to formats, case-insensitively, and refuses the rest', () => {
    expect(['a.png', 'a.JPG', 'a.jpeg', 'a.webp'].map(outputFormat)).toEqual(['png', 'jpeg', 'jpeg', 'webp']);
    expect(() => outputFormat('a.gif')).toThrow("--out a.gif: '.gif' is not an image format latentkit writes; use .png, .jpg, .jpeg, .webp");
  });

  it('accepts new paths under folders to create, and an existing writable file', async () => {
    writeFileSync(path.join(scratch(), 'old.png'), 'x');
    await expect(checkOutputPaths([path.join(scratch(), 'new/deeper/x.webp'), path.join(scratch(), 'old.png')])).resolves.toBeUndefined();
  });

  it('reports a write failure (/dev/full: no space) as one clear line', async () => {
    const image = { width: 2, height: 2, channels: 3, data: new Uint8Array(12) };
    // A .png link to /dev/full: the device takes the open and fails the write with ENOSPC.
    const link = path.join(scratch(), 'full.png');
    symlinkSync('/dev/full', link);
    await expect(writeImageFile(link, image)).rejects.toThrow(`cannot write ${link}: no space left on the device (ENOSPC)`);
  });

  it('resizes in the three modes to the exact size; fit keeps the whole picture inside', async () => {
    // A 4×2 image: left half black, right half white.
    const data = new Uint8Array(4 * 2 * 3);
    for (let y = 0; y < 2; y++) for (let x = 2; x < 4; x++) data.fill(255, (y * 4 + x) * 3, (y * 4 + x) * 3 + 3);
    const image = { width: 4, height: 2, channels: 3 as const, data };
    for (const mode of ['crop', 'fit', 'stretch'] as const) {
      const out = await resizeImage(image, 8, 8, mode);
      expect([mode, out.width, out.height, out.data.length]).toEqual([mode, 8, 8, 8 * 8 * 3]);
    }
    const file = path.join(scratch(), 'r.png');
    await writeImageFile(file, await resizeImage(image, 8, 8, 'stretch'));
    const back = await readImageFile(file, '--out');
    // Tolerance: exact at the far edges, where the stretch keeps the source's pure values.
    expect([back.data[0], back.data[(8 - 1) * 3]]).toEqual([0, 255]);
  });
});
