/**
 * One measurement of the attention benchmark, in a process of its own so that its peak
 * resident memory (getrusage maxRSS) belongs to that method alone. Prints one JSON line.
 *
 *   tsx bench/attention-measure.ts '{"method":"fused","batch":2,"heads":8,"headDim":40,"queryLength":4096,"keyLength":4096}'
 */
import * as ort from 'onnxruntime-node';
import os from 'node:os';
import { randomInputs } from './random-inputs';
import { matMulModel, multiHeadAttentionModel, plainAttentionModel, type AttentionDims } from './onnx-model';
import { isNative, multiHeadAttention, nativeStatus } from '../src/index';

export type Method = 'fused' | 'twin' | 'ort-mha' | 'ort-plain' | 'ort-matmul';

/** One labelled attention problem the benchmarks time (dimensions as in onnx-model.ts). */
export interface AttentionShape extends AttentionDims {
  label: string;
}

export interface MeasureRequest extends AttentionDims {
  method: Method;
  /** Minimum wall time to spend on timed runs (ms). */
  budgetMs?: number;
  /** Threads for our kernel (LATENTKIT_THREADS) and onnxruntime (intraOpNumThreads); default: all cores. */
  threads?: number;
}

export interface Measurement {
  method: Method;
  /** Median milliseconds per call over `runs` timed runs (after one warm-up). */
  ms: number;
  bestMs: number;
  runs: number;
  gflops: number;
  /**
   * GFLOP per CPU-second (user + system time of the whole process, all threads, best run): the
   * kernel's efficiency independent of other processes competing for the cores. Spinning
   * worker threads (onnxruntime's pool spins between ops) count as spent CPU time.
   */
  gflopsPerCpuSecond: number;
  /** Peak resident set of the whole process (MB). */
  peakRssMb: number;
  /** Peak minus the resident set just before the first run: the call's own working memory (MB). */
  workingMb: number;
  /** For the twin: measured on one (batch, head) pair, time scaled by batch·heads. */
  note?: string;
  /** Largest |difference| from our fused kernel's output on the same inputs (a sanity check). */
  maxDifferenceFromFused?: number;
  implementation?: string;
}

const MB = 1024 * 1024;

async function timeRuns(
  run: () => Promise<unknown> | unknown, budgetMs: number, minimumRuns = 3, warmUp = true,
): Promise<{ median: number; best: number; runs: number; bestCpu: number }> {
  if (warmUp) await run(); // allocations, JIT, thread pools
  const times: number[] = [];
  let bestCpu = Infinity;
  const started = performance.now();
  while (times.length < minimumRuns || (performance.now() - started < budgetMs && times.length < 9)) {
    const cpu = process.cpuUsage();
    const t = performance.now();
    await run();
    times.push(performance.now() - t);
    const used = process.cpuUsage(cpu);
    bestCpu = Math.min(bestCpu, (used.user + used.system) / 1000);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)]!, best: times[0]!, runs: times.length, bestCpu };
}

async function measure(request: MeasureRequest): Promise<Measurement> {
  const { method, batch, heads, headDim, queryLength, keyLength } = request;
  const budget = request.budgetMs ?? 2000;
  const hidden = heads * headDim;
  const threads = request.threads ?? os.availableParallelism();
  // Read by the addon when its thread pool starts, at the first call below.
  if (request.threads !== undefined) process.env.LATENTKIT_THREADS = String(request.threads);
  const options: ort.InferenceSession.SessionOptions = { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential' };

  if (method === 'ort-matmul') {
    const n = queryLength;
    const session = await ort.InferenceSession.create(matMulModel(n), options);
    const feeds = { a: new ort.Tensor('float32', randomInputs(n * n, 1), [n, n]), b: new ort.Tensor('float32', randomInputs(n * n, 2), [n, n]) };
    const before = process.memoryUsage().rss;
    const t = await timeRuns(() => session.run(feeds), budget);
    const peak = process.resourceUsage().maxRSS * 1024;
    const flops = 2 * n ** 3;
    return { method, ms: t.median, bestMs: t.best, runs: t.runs, gflops: flops / t.median / 1e6, gflopsPerCpuSecond: flops / t.bestCpu / 1e6, peakRssMb: peak / MB, workingMb: Math.max(0, peak - before) / MB };
  }

  const fullFlops = 4 * batch * heads * queryLength * keyLength * headDim;
  const twin = method === 'twin';
  // The twin runs one (batch, head) pair: every pair does the same work, so the full time is ×batch·heads.
  const [b, h] = twin ? [1, 1] : [batch, heads];
  const q = randomInputs(b * queryLength * h * headDim, 11);
  const k = randomInputs(b * keyLength * h * headDim, 12);
  const v = randomInputs(b * keyLength * h * headDim, 13);
  const attentionOptions = { batch: b, heads: h, headDim };
  let run: () => Promise<unknown> | unknown;
  let output: () => Float32Array;
  let implementation = method as string;

  if (method === 'fused' || twin) {
    if (method === 'fused' && !isNative()) throw new Error(`the addon is not loaded: ${nativeStatus().reason}`);
    if (twin && isNative()) throw new Error('run the twin with LATENTKIT_NATIVE=0');
    implementation = nativeStatus().kernel;
    const out = new Float32Array(q.length);
    run = () => multiHeadAttention(q, k, v, { ...attentionOptions, out });
    output = () => out;
  } else {
    const dims: AttentionDims = { batch, heads, headDim, queryLength, keyLength };
    const session = await ort.InferenceSession.create(method === 'ort-mha' ? multiHeadAttentionModel(dims) : plainAttentionModel(dims), options);
    const feeds = {
      query: new ort.Tensor('float32', q, [batch, queryLength, hidden]),
      key: new ort.Tensor('float32', k, [batch, keyLength, hidden]),
      value: new ort.Tensor('float32', v, [batch, keyLength, hidden]),
    };
    let last: Float32Array | undefined;
    run = async () => {
      last = (await session.run(feeds)).output!.data as Float32Array;
    };
    output = () => last!;
  }

  const before = process.memoryUsage().rss;
  // The twin takes seconds per call: one timed run, after a small call has warmed up the JIT.
  if (twin) multiHeadAttention(q.subarray(0, 64 * headDim), k.subarray(0, 64 * headDim), v.subarray(0, 64 * headDim), attentionOptions);
  const t = twin ? await timeRuns(run, 0, 1, false) : await timeRuns(run, budget);
  const peak = process.resourceUsage().maxRSS * 1024;
  const scale = twin ? batch * heads : 1;
  const result: Measurement = {
    method,
    ms: t.median * scale,
    bestMs: t.best * scale,
    runs: t.runs,
    gflops: fullFlops / (t.median * scale) / 1e6,
    gflopsPerCpuSecond: fullFlops / (t.bestCpu * scale) / 1e6,
    peakRssMb: peak / MB,
    workingMb: Math.max(0, peak - before) / MB,
    implementation,
  };
  if (twin) result.note = `measured on 1 of ${batch * heads} (batch, head) pairs, time ×${batch * heads}`;
  if (method !== 'fused' && isNative()) {
    const ours = multiHeadAttention(q, k, v, attentionOptions);
    const theirs = output();
    let worst = 0;
    for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - theirs[i]!));
    result.maxDifferenceFromFused = worst;
  }
  return result;
}

if (require.main === module) {
  measure(JSON.parse(process.argv[2] ?? '{}') as MeasureRequest).then(
    (result) => console.log(JSON.stringify(result)),
    (error: Error) => {
      console.error(error.message);
      process.exit(1);
    },
  );
}
