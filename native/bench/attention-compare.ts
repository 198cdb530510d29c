/**
 * Our kernel against onnxruntime's com.microsoft MultiHeadAttention on the head sizes of SD 1.5
 * (40, 80, 160), SD 2.x and SDXL (64), interleaved: every round measures each method once per
 * shape, each in its own process, and the figures are medians over the rounds, so that a burst of
 * load on a shared machine hits one round rather than one method.
 *
 *   tsx bench/attention-compare.ts                      # all cores
 *   BENCH_THREADS=1 tsx bench/attention-compare.ts      # one thread each: CPU time is the clean figure
 *   BASELINE_ADDON=/path/to/old/latentkit_native.node tsx bench/attention-compare.ts   # adds that build
 *   NATIVE_ADDON=/path/to/latentkit_native.node …     # measure this build as 'native' (default: the loader's choice)
 *   BENCH_SHAPES=0,2 …                                # only these rows of SHAPES
 *
 * Per round and method: the best wall time of its timed calls, and GFLOP per CPU-second (user +
 * system time of the process for its best call; onnxruntime's spinning threads count).
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import type { AttentionShape, Measurement, MeasureRequest } from './attention-measure';

type Shape = AttentionShape;

const SHAPES: Shape[] = [
  { label: 'SD 1.5 self 64×64, d 40', batch: 2, heads: 8, headDim: 40, queryLength: 4096, keyLength: 4096 },
  { label: 'SD 1.5 cross 64×64 × 77, d 40', batch: 2, heads: 8, headDim: 40, queryLength: 4096, keyLength: 77 },
  { label: 'SD 2.x self 64×64, d 64', batch: 2, heads: 5, headDim: 64, queryLength: 4096, keyLength: 4096 },
  { label: 'SDXL self 64×64, d 64', batch: 2, heads: 10, headDim: 64, queryLength: 4096, keyLength: 4096 },
  { label: 'SD 1.5 self 32×32, d 80', batch: 2, heads: 8, headDim: 80, queryLength: 1024, keyLength: 1024 },
  { label: 'SD 1.5 self 16×16, d 160', batch: 2, heads: 8, headDim: 160, queryLength: 256, keyLength: 256 },
];

type Variant = { name: string; method: MeasureRequest['method']; addon?: string };
const variants: Variant[] = [{ name: 'native', method: 'fused', addon: process.env.NATIVE_ADDON }, { name: 'ort-mha', method: 'ort-mha' }];
if (process.env.BASELINE_ADDON) variants.splice(1, 0, { name: 'baseline', method: 'fused', addon: process.env.BASELINE_ADDON });

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const threads = process.env.BENCH_THREADS ? Number(process.env.BENCH_THREADS) : undefined;
const only = process.env.BENCH_SHAPES ? process.env.BENCH_SHAPES.split(',').map(Number) : undefined;
const measureScript = path.join(__dirname, 'attention-measure.ts');
const tsx = require.resolve('tsx/cli', { paths: [__dirname] });

function measure(variant: Variant, shape: Shape): Measurement {
  const env = { ...process.env };
  if (variant.addon) env.LATENTKIT_NATIVE_ADDON = variant.addon;
  const request: MeasureRequest = { ...shape, method: variant.method, budgetMs: 1500, threads };
  const child = spawnSync(process.execPath, [tsx, measureScript, JSON.stringify(request)], { env, encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`${variant.name} on ${shape.label}: ${(child.stderr || child.stdout).trim()}`);
  return JSON.parse(child.stdout.trim().split('\n').pop()!) as Measurement;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

const shapes = only ? only.map((index) => SHAPES[index]!) : SHAPES;
const results = new Map<string, { wallMs: number[]; perCpu: number[] }>();
const key = (variant: Variant, shape: Shape): string => `${variant.name}|${shape.label}`;
console.log(`# native vs onnxruntime MultiHeadAttention, ${ROUNDS} interleaved rounds, threads ${threads ?? os.availableParallelism()}`);
console.log(`cpu: ${os.cpus()[0]?.model} × ${os.availableParallelism()}, load average at start ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
for (let round = 0; round < ROUNDS; round++) {
  for (const shape of shapes) {
    for (const variant of variants) {
      const result = measure(variant, shape);
      console.error(`round ${round + 1}/${ROUNDS} ${shape.label} ${variant.name}: best ${result.bestMs.toFixed(1)} ms, ${result.gflopsPerCpuSecond.toFixed(1)} GFLOP/CPU-s`);
      const entry = results.get(key(variant, shape)) ?? { wallMs: [], perCpu: [] };
      entry.wallMs.push(result.bestMs);
      entry.perCpu.push(result.gflopsPerCpuSecond);
      results.set(key(variant, shape), entry);
    }
  }
}
console.log(`load average at end ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
console.log('shape | ' + variants.map((v) => `${v.name} ms (median) | ${v.name} GFLOP/CPU-s`).join(' | ') + ' | native ÷ ort-mha: wall | per CPU-second');
for (const shape of shapes) {
  const cells: string[] = [];
  for (const variant of variants) {
    const entry = results.get(key(variant, shape))!;
    cells.push(median(entry.wallMs).toFixed(1), median(entry.perCpu).toFixed(1));
  }
  const ours = results.get(key(variants[0]!, shape))!;
  const theirs = results.get(key(variants[variants.length - 1]!, shape))!;
  const wallRatio = median(theirs.wallMs) / median(ours.wallMs);
  const cpuRatio = median(ours.perCpu) / median(theirs.perCpu);
  console.log(`${shape.label} | ${cells.join(' | ')} | ${wallRatio.toFixed(2)}× | ${cpuRatio.toFixed(2)}×`);
}
