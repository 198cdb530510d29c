import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { modelPath } from '@latentkit/model-tiny';
import { capturedIo } from './__fixtures__/captured-io';
import { scratchFolder } from './__fixtures__/scratch-folder';
import { heatmapOver } from './attention-maps';
import { ExitCode } from './exit-codes';
import { readImageFile } from './png-files';
import { run } from './run';

const present = existsSync(path.join(modelPath, 'model_index.json'));
if (!present) console.warn(`Skipping the --attention-maps test: ${modelPath} has no model_index.json yet`);

describe('heatmapOver', () => {
  it('paints the token\'s hottest cell white-hot and a zero cell as grey image only', () => {
    const image = { width: 4, height: 2, channels: 3 as const, data: new Uint8Array(4 * 2 * 3).fill(100) };
    // Two tokens on a 1×2 grid: token 1 attends fully on the left cell, not at all on the right.
    const maps = { height: 1, width: 2, tokens: 2, data: Float32Array.of(0, 1, 1, 0) };
    const out = heatmapOver(image, maps, 1);
    expect([out.width, out.height, out.channels]).toEqual([4, 2, 3]);
    expect(Array.from(out.data.subarray(0, 3))).toEqual([Math.round(45 + 140.25), Math.round(45 + 140.25), Math.round(45 + 140.25)]);
    expect(Array.from(out.data.subarray(9, 12))).toEqual([45, 45, 45]);
  });
});

(present ? describe : describe.skip)('latentkit generate --attention-maps', () => {
  const scratch = scratchFolder('latentkit-cli-maps-');

  it('writes one heatmap PNG per prompt token, from the start token to the end token', async () => {
    const maps = path.join(scratch(), 'maps');
    const io = capturedIo();
    const code = await run(['generate', 'a red circle', '--out', path.join(scratch(), 'c.png'), '--seed', '3', '--steps', '3', '--threads', '1', '--attention-maps', maps], io);
    expect(code).toBe(ExitCode.ok);
    expect(readdirSync(maps).sort()).toEqual(['00-start.png', '01-a.png', '02-red.png', '03-circle.png', '04-end.png']);
    const heatmap = await readImageFile(path.join(maps, '02-red.png'), 'map');
    expect([heatmap.width, heatmap.height]).toEqual([64, 64]);
    expect(io.err()).toMatch(/wrote 5 attention maps/);
  });
});
