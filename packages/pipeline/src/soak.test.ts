/**
 * Soak: 100 text-to-image generations on the bundled latentkit-tiny model through one
 * StableDiffusionPipeline must not grow the process's memory (issue 17).
 *
 * After 10 warm-up generations the resident set size (RSS) is sampled after every generation,
 * following a full garbage collection, and a least-squares line is fitted to the samples.
 * Measured on the 2-core development machine (loaded, 2 steps, default guidance): the RSS stays
 * within ±2 MB of 233 MB, a slope of about 0.00 MB per generation (100 runs in about 25 s).
 * Bounds, with wide margins over that noise:
 *   - slope below MAX_SLOPE_MB (0.1 MB per generation, 9 MB over the 90 measured runs): a leak
 *     of one 64×64 float32 image per UNet call (about 0.2 MB per generation) fails it;
 *   - no sample more than MAX_GROWTH_MB (24 MB) above the first measured one;
 *   - the JS heap (heapUsed) likewise below MAX_HEAP_SLOPE_MB per generation.
 * Timing is never asserted.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { modelPath } from '@latentkit/model-tiny';
import { StableDiffusionPipeline } from './index';

const GENERATIONS = 100;
const WARM_UP = 10;
const MAX_SLOPE_MB = 0.1;
const MAX_GROWTH_MB = 24;
const MAX_HEAP_SLOPE_MB = 0.05;
const MB = 2 ** 20;

const present = fs.existsSync(path.join(modelPath, 'model_index.json'));
if (!present) console.warn(`Skipping the soak test: ${modelPath} has no model_index.json`);

/** A full collection, also when node was started without --expose-gc. */
function collector(): () => void {
  if (typeof globalThis.gc === 'function') return globalThis.gc as () => void;
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

/**
 * Anonymous resident memory in MB (Linux `RssAnon`: heaps and buffers, where a leak shows), or
 * the whole RSS elsewhere. The whole RSS also counts pages of files the process maps, such as
 * the ONNX models, which the kernel drops and reloads under memory pressure: on a loaded machine
 * that alone moves it by tens of MB.
 */
function residentMB(): number {
  if (process.platform === 'linux') {
    const match = /RssAnon:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (match) return Number(match[1]) / 1024;
  }
  return process.memoryUsage().rss / MB;
}

/** Least-squares slope of ys against 0, 1, 2, … */
function slope(ys: number[]): number {
  const n = ys.length;
  const meanX = (n - 1) / 2;
  const meanY = ys.reduce((a, b) => a + b, 0) / n;
  let numerator = 0;
  let denominator = 0;
  ys.forEach((y, x) => {
    numerator += (x - meanX) * (y - meanY);
    denominator += (x - meanX) ** 2;
  });
  return numerator / denominator;
}

(present ? describe : describe.skip)(`soak: ${GENERATIONS} generations on latentkit-tiny`, () => {
  test('memory does not grow', async () => {
    const gc = collector();
    const pipeline = await StableDiffusionPipeline.fromPretrained(undefined, { sessionOptions: { threads: 1 } });
    const rss: number[] = [];
    const heap: number[] = [];
    try {
      for (let run = 0; run < GENERATIONS; run++) {
        const { images } = await pipeline.textToImage({ prompt: 'a red circle on a blue background', numInferenceSteps: 2, seed: run });
        expect(images[0]!.data.length).toBe(64 * 64 * 3);
        if (run >= WARM_UP) {
          gc();
          rss.push(residentMB());
          heap.push(process.memoryUsage().heapUsed / MB);
        }
      }
    } finally {
      await pipeline.dispose();
    }
    const rssSlope = slope(rss);
    const growth = Math.max(...rss) - rss[0]!;
    const summary =
      `RSS ${rss[0]!.toFixed(1)} → ${rss[rss.length - 1]!.toFixed(1)} MB (max +${growth.toFixed(1)} MB, ` +
      `slope ${rssSlope.toFixed(4)} MB/run), heapUsed slope ${slope(heap).toFixed(4)} MB/run`;
    console.log(`soak: ${summary}`);
    expect({ summary, rssSlopeWithinBound: rssSlope < MAX_SLOPE_MB }).toEqual({ summary, rssSlopeWithinBound: true });
    expect({ summary, growthWithinBound: growth < MAX_GROWTH_MB }).toEqual({ summary, growthWithinBound: true });
    expect({ summary, heapSlopeWithinBound: slope(heap) < MAX_HEAP_SLOPE_MB }).toEqual({ summary, heapSlopeWithinBound: true });
  });
});
