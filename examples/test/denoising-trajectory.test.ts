import { existsSync } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { renderShapeImage } from '@latentkit/testing';
import { main } from '../denoising-trajectory';
import { saveLabelledGrid } from '../lib/labelled-grid';
import { describeWithEmbeddedModel, runExample, temporaryOutDir } from './example-harness';

describe('saveLabelledGrid', () => {
  const cell = renderShapeImage({ shape: 'circle', foreground: 'red', background: 'blue', size: 8, width: 16, height: 16 });

  it('draws the cells at their place and the labels into the picture around them', async () => {
    const file = await saveLabelledGrid(path.join(temporaryOutDir(), 'grid.png'), [{ label: 'row one', images: [cell, cell] }, { label: 'row two', images: [cell] }], { columns: ['a', 'b'], title: 'title', scale: 2 });
    const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
    // Two 32-px columns right of the label column; the bottom-right cell is absent (white).
    expect(info.width).toBeGreaterThan(2 * 32);
    const pixel = (x: number, y: number) => Array.from(data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3));
    expect(pixel(info.width - 5, info.height - 5)).toEqual([255, 255, 255]);
    expect(pixel(info.width - 4 - 32 + 1, info.height - 4 - 32 - 4 - 1)).toEqual(pixel(info.width - 4 - 32 + 1, 0 + info.height - 4 - 32 - 4 - 1));
    // Some dark text pixels exist in the label column (left of the first cell).
    let dark = 0;
    for (let y = 0; y < info.height; y++) for (let x = 0; x < info.width - 2 * 36; x++) if (pixel(x, y)[0]! < 100) dark++;
    expect(dark).toBeGreaterThan(20);
  });

  it('refuses an empty grid and cells of another size by name', async () => {
    await expect(saveLabelledGrid('/tmp/x.png', [])).rejects.toThrow(/rows must be at least one row/);
    const other = renderShapeImage({ shape: 'circle', foreground: 'red', background: 'blue', size: 8, width: 8, height: 8 });
    await expect(saveLabelledGrid('/tmp/x.png', [{ label: 'r', images: [cell, other] }])).rejects.toThrow(/cells of 16×16.*8×8/);
  });
});

describeWithEmbeddedModel('denoising-trajectory on the embedded model', () => {
  it('prints one row per step for both schedulers, x̂₀ nearing the final image, and writes the labelled strip', async () => {
    const { lines, text } = await runExample(main, ['--steps', '4']);
    expect(text).toContain('DDIMScheduler t');
    expect(text).toContain('EulerAncestralDiscreteScheduler t');
    const rows = lines.filter((line) => /^ {3}\d /.test(line)).map((line) => line.trim().split(/\s{2,}/));
    expect(rows).toHaveLength(4);
    const db = (cell: string) => (cell === '∞' ? Infinity : Number.parseFloat(cell));
    // The last estimate is closer to the final image than the first, for both schedulers.
    expect(db(rows[3]![2]!)).toBeGreaterThan(db(rows[0]![2]!));
    expect(db(rows[3]![4]!)).toBeGreaterThan(db(rows[0]![4]!));
    const file = /: (\S+denoising-trajectory\.png)\n/.exec(text)?.[1];
    expect(file && existsSync(file)).toBeTruthy();
  });
});
