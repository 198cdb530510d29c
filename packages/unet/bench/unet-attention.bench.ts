/**
 * The UNet with attention in `@latentkit/native`'s kernel (onnxruntime segments between the
 * calls) against the whole graph in onnxruntime, in one run: time per UNet call (batch 2, as
 * with classifier-free guidance), peak resident memory, and attention's share of the call.
 * Each measurement runs in a child process of its own (peak RSS is per process).
 *
 *   pnpm bench                                    # tiny-sd (../shared) and @latentkit/model-tiny
 *   LATENTKIT_BENCH_UNET=models/sd15 LATENTKIT_BENCH_SIDES=64,96 pnpm bench   # SD 1.5 at 512² and 768²
 *   LATENTKIT_BENCH_RUNS=5 LATENTKIT_THREADS=2 pnpm bench
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { modelPath } from '@latentkit/model-tiny';
import { nativeStatus } from '@latentkit/native';

const runs = Number(process.env.LATENTKIT_BENCH_RUNS ?? 3);
// Both backends get the same explicit thread count (onnxruntime's default follows the host's cores).
const threads = process.env.LATENTKIT_THREADS ? Number(process.env.LATENTKIT_THREADS) : os.availableParallelism();
const shared = process.env.LATENTKIT_SHARED ?? path.resolve(__dirname, '../../../../shared');
const sides = process.env.LATENTKIT_BENCH_SIDES?.split(',').map(Number);

const models = process.env.LATENTKIT_BENCH_UNET
  ? process.env.LATENTKIT_BENCH_UNET.split(',').map((folder) => ({ name: path.basename(folder), folder, sides: sides ?? [64] }))
  : [
      { name: 'tiny-sd (../shared)', folder: path.join(shared, 'reference/tiny-sd/onnx'), sides: sides ?? [16, 64, 96] },
      { name: 'latentkit-tiny', folder: modelPath, sides: [16] },
    ].filter((model) => fs.existsSync(path.join(model.folder, 'unet/model.onnx')));

const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'latentkit-unet-bench-'));
const measure = path.join(__dirname, 'unet-attention-measure.ts');

function run(folder: string, backend: string, side: number): Record<string, number | string | undefined> {
  const request = JSON.stringify({ folder, backend, side, runs, threads, cacheDir });
  const output = execFileSync(process.execPath, [require.resolve('tsx/cli'), measure, request], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(output.trim().split('\n').pop()!) as Record<string, number | string | undefined>;
}

console.log(`UNet attention: ${JSON.stringify(nativeStatus())}, ${os.cpus().length} cores, ${runs} timed runs (median), batch 2`);
for (const model of models) {
  for (const side of model.sides) {
    const whole = run(model.folder, 'onnxruntime', side);
    const native = run(model.folder, 'native', side);
    console.log(`\n${model.name}, latent ${side}×${side} (${side * 8}² images), ${native.attentionLayers} attention layers`);
    console.log('backend      ms/call  best  peak RSS MB  attention ms (share)  load ms');
    for (const row of [whole, native]) {
      const share = row.attentionMs === undefined ? '' : `${row.attentionMs} (${Math.round(Number(row.attentionShare) * 100)}%)`;
      console.log(`${String(row.backend).padEnd(12)} ${String(row.ms).padStart(7)} ${String(row.bestMs).padStart(5)} ${String(row.peakRssMb).padStart(12)}  ${share.padEnd(20)}  ${row.loadMs}`);
    }
    console.log(`native / onnxruntime: ${(Number(whole.ms) / Number(native.ms)).toFixed(2)}× faster, peak RSS ${Number(whole.peakRssMb) - Number(native.peakRssMb)} MB lower`);
  }
}
fs.rmSync(cacheDir, { recursive: true, force: true });
