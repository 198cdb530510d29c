/**
 * The partitioned UNet's segments go through onnxruntime's optimized-model cache: the first load
 * saves every segment as onnxruntime optimized it, the next opens those copies (graph optimization
 * off) and computes the same noise prediction; `clearOptimizedModelCache` removes the segments and
 * the stored partition alike. On diffusers' tiny-sd export (external `weights.pb`), made to count
 * as a large model by a sparse file beside its weights (the cache takes models of 64 MB and up).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createTensor, type LoadStep, type Tensor } from '@latentkit/core';
import { clearOptimizedModelCache, OPTIMIZED_CACHE_MIN_BYTES } from '@latentkit/onnx';
import { isNative } from '@latentkit/native';
import { OnnxUNet } from './index';

const shared = process.env.LATENTKIT_SHARED ?? path.resolve(__dirname, '../../../../shared');
const tinySd = path.join(shared, 'reference/tiny-sd/onnx/unet');
const present = fs.existsSync(path.join(tinySd, 'weights.pb')) && isNative();
if (!present) console.warn(`Skipping the segment cache test: ${tinySd} is absent (set LATENTKIT_SHARED) or the native addon did not load`);

function wave(dims: number[], seed: number): Tensor<Float32Array> {
  const size = dims.reduce((a, b) => a * b, 1);
  return createTensor(dims, Float32Array.from({ length: size }, (_, i) => Math.sin((i + 1) * seed) * 1.2));
}

(present ? describe : describe.skip)('the segment cache', () => {
  let work: string;
  let unetFolder: string;
  let cache: string;
  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'latentkit-segment-cache-'));
    unetFolder = path.join(work, 'model', 'unet');
    cache = path.join(work, 'cache');
    fs.mkdirSync(unetFolder, { recursive: true });
    for (const name of ['model.onnx', 'weights.pb', 'config.json']) fs.copyFileSync(path.join(tinySd, name), path.join(unetFolder, name));
    // Sparse: 64 MB by its size, nothing on disk.
    fs.writeFileSync(path.join(unetFolder, 'padding.bin'), '');
    fs.truncateSync(path.join(unetFolder, 'padding.bin'), OPTIMIZED_CACHE_MIN_BYTES);
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  async function load(): Promise<{ steps: LoadStep[]; output: Float32Array }> {
    const steps: LoadStep[] = [];
    const unet = await OnnxUNet.fromPretrained(unetFolder, { attention: 'native', cacheDir: cache, sessionOptions: { optimizedModelCache: cache, onLoadStep: (step) => steps.push(step) } });
    try {
      expect(unet.attentionBackend).toBe('native');
      const output = await unet.predict({ sample: wave([2, 4, 16, 16], 0.37), timestep: 500, encoderHiddenStates: wave([2, 77, 32], 0.11) });
      return { steps, output: output.data };
    } finally {
      await unet.dispose();
    }
  }

  const cacheStates = (steps: LoadStep[], kind: LoadStep['kind']) => steps.filter((step) => step.kind === kind).map((step) => step.cache);

  it('fills on the first load, hits on the next with the same output, and is cleared whole', async () => {
    const first = await load();
    expect(cacheStates(first.steps, 'partition')).toEqual(['fill']);
    const segments = cacheStates(first.steps, 'session');
    expect(segments.length).toBeGreaterThan(1);
    expect(new Set(segments)).toEqual(new Set(['fill']));
    for (const step of first.steps) expect(step.milliseconds).toBeGreaterThanOrEqual(0);

    const second = await load();
    expect(cacheStates(second.steps, 'partition')).toEqual(['hit']);
    expect(cacheStates(second.steps, 'session')).toEqual(segments.map(() => 'hit'));
    // The same optimized graphs run in both: equal to float32 rounding (tolerance 1e-5 of the output's scale).
    const scale = Math.max(...first.output.map(Math.abs));
    let difference = 0;
    for (let i = 0; i < first.output.length; i++) difference = Math.max(difference, Math.abs(first.output[i]! - second.output[i]!));
    expect(difference / scale).toBeLessThan(1e-5);

    expect(await clearOptimizedModelCache(cache)).toBeGreaterThan(0);
    expect(fs.readdirSync(path.join(cache, 'optimized-models'))).toEqual([]);
    expect(fs.readdirSync(path.join(cache, 'attention'))).toEqual([]);
    const third = await load();
    expect(cacheStates(third.steps, 'partition')).toEqual(['fill']);
    expect(new Set(cacheStates(third.steps, 'session'))).toEqual(new Set(['fill']));
  });

  it('opens a damaged segment entry from the source instead', async () => {
    await load();
    const entries = path.join(cache, 'optimized-models');
    for (const entry of fs.readdirSync(entries)) fs.writeFileSync(path.join(entries, entry, 'model.onnx'), 'not a model');
    const { steps, output } = await load();
    expect(new Set(cacheStates(steps, 'session'))).toEqual(new Set(['skip']));
    expect(output.every(Number.isFinite)).toBe(true);
  });
});
