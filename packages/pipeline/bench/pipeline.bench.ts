/**
 * Time per image and per step of the Stable Diffusion pipeline, and where it goes: text encoder,
 * each UNet call, scheduler, VAE decode, post-processing, and glue (everything else: validation,
 * tensor copies, callbacks). The baseline, measured in the same run, is the same work done by hand
 * with the components alone (same guidance mode); the pipeline's ratio to it is its overhead.
 *
 *   pnpm bench                       # tiny-sd (../shared) and @latentkit/model-tiny when present
 *                                    # (node --expose-gc: garbage is collected between runs)
 *   LATENTKIT_BENCH_RUNS=20 pnpm bench
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TorchGenerator, createTensor, type Tensor } from '@latentkit/core';
import { referencePath } from '@latentkit/testing';
import { StableDiffusionPipeline, StageTimings, combineGuidance, cloneScheduler, tensorToImages, type GuidanceMode } from '../src';

const runs = Number(process.env.LATENTKIT_BENCH_RUNS ?? 10);
const steps = Number(process.env.LATENTKIT_BENCH_STEPS ?? 20);
const threads = process.env.LATENTKIT_THREADS ? Number(process.env.LATENTKIT_THREADS) : undefined;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The same text-to-image run written by hand against the components: the baseline. */
async function byHand(pipeline: StableDiffusionPipeline, prompt: string, seed: number, mode: GuidanceMode): Promise<number> {
  const started = performance.now();
  const { unet, vae, textEncoder } = pipeline;
  const scheduler = cloneScheduler(pipeline.scheduler)!;
  const { hiddenStates } = await textEncoder!.encode(['', prompt]);
  const rowDims = [1, ...hiddenStates.dims.slice(1)];
  const uncondStates = createTensor(rowDims, hiddenStates.data.subarray(0, hiddenStates.data.length / 2));
  const condStates = createTensor(rowDims, hiddenStates.data.subarray(hiddenStates.data.length / 2));
  const side = unet.sampleSize!;
  const shape = [1, vae.latentChannels, side, side];
  const generator = new TorchGenerator(seed);
  scheduler.setTimesteps(steps);
  let latents: Tensor<Float32Array> = createTensor(shape, generator.randn(shape));
  for (const t of scheduler.timesteps) {
    const input = scheduler.scaleModelInput(latents, t);
    let uncond: Tensor<Float32Array>;
    let cond: Tensor<Float32Array>;
    if (mode === 'batched') {
      const both = createTensor([2, ...input.dims.slice(1)], new Float32Array(input.data.length * 2));
      both.data.set(input.data);
      both.data.set(input.data, input.data.length);
      const out = await unet.predict({ sample: both, timestep: t, encoderHiddenStates: hiddenStates });
      const half = out.data.length / 2;
      uncond = createTensor(input.dims, out.data.subarray(0, half));
      cond = createTensor(input.dims, out.data.subarray(half));
    } else {
      uncond = await unet.predict({ sample: input, timestep: t, encoderHiddenStates: uncondStates });
      cond = await unet.predict({ sample: input, timestep: t, encoderHiddenStates: condStates });
    }
    const noise = combineGuidance(uncond, cond, 7.5);
    latents = scheduler.step(noise, t, latents, { generator }).prevSample;
  }
  const scaled = new Float32Array(latents.data.length);
  for (let i = 0; i < scaled.length; i++) scaled[i] = Math.fround(latents.data[i]! / Math.fround(vae.scalingFactor));
  tensorToImages(await vae.decode(createTensor(latents.dims, scaled)), 'uint8');
  return performance.now() - started;
}

async function benchModel(name: string, folder: string, mode: GuidanceMode): Promise<void> {
  const pipeline = await StableDiffusionPipeline.fromPretrained(folder, { sessionOptions: { threads }, guidanceMode: mode });
  const prompt = 'a red circle on a blue background';
  try {
    // Warm-up: onnxruntime allocates its arenas on the first runs.
    for (let i = 0; i < 2; i++) {
      await pipeline.textToImage({ prompt, numInferenceSteps: steps, seed: i });
      await byHand(pipeline, prompt, i, mode);
    }
    const totals: number[] = [];
    const baselines: number[] = [];
    const glueShares: number[] = [];
    const stageSums = new Map<string, { ms: number; calls: number }>();
    let glue = 0;
    const collect = (globalThis as { gc?: () => void }).gc ?? (() => {});
    for (let i = 0; i < runs; i++) {
      // Interleave the two so that machine load affects both alike; collect garbage before each
      // timed run so that one run's allocations are not paid inside the next.
      collect();
      baselines.push(await byHand(pipeline, prompt, i, mode));
      collect();
      const timings = new StageTimings();
      await pipeline.textToImage({ prompt, numInferenceSteps: steps, seed: i, timings });
      const summary = timings.summary();
      totals.push(summary.total);
      glue += summary.glue;
      glueShares.push((100 * summary.glue) / summary.total);
      for (const [stage, figures] of Object.entries(summary.stages)) {
        const entry = stageSums.get(stage) ?? { ms: 0, calls: 0 };
        entry.ms += figures!.ms;
        entry.calls += figures!.calls;
        stageSums.set(stage, entry);
      }
    }
    const total = totals.reduce((a, b) => a + b, 0);
    const perImage = median(totals);
    const baseline = median(baselines);
    const side = pipeline.defaultImageSize;
    console.log(`\n${name} — ${side}×${side}, ${steps} steps, guidance ${mode}, ${runs} runs, threads ${threads ?? 'default'}`);
    console.log(`  time per image   ${perImage.toFixed(1)} ms (median)   per step ${(perImage / steps).toFixed(2)} ms`);
    console.log(`  baseline (components by hand) ${baseline.toFixed(1)} ms   pipeline / baseline = ${(perImage / baseline).toFixed(3)}`);
    console.log('  stage            share     ms/run   calls/run   ms/call');
    const rows = [...stageSums.entries(), ['glue', { ms: glue, calls: 0 }] as const];
    for (const [stage, { ms, calls }] of rows) {
      const share = (100 * ms) / total;
      console.log(
        `  ${stage.padEnd(15)} ${share.toFixed(2).padStart(6)}%  ${(ms / runs).toFixed(2).padStart(8)}  ${(calls / runs).toFixed(0).padStart(9)}  ${calls ? (ms / calls).toFixed(3).padStart(9) : ''}`,
      );
    }
    // Per run, the median share: a garbage-collection pause or another process taking the CPU
    // lands in whichever stage is running, and often in the glue between them.
    const glueShare = median(glueShares);
    console.log(
      `  glue per run: median ${glueShare.toFixed(2)}%, mean ${((100 * glue) / total).toFixed(2)}%, max ${Math.max(...glueShares).toFixed(2)}% — ` +
        `${glueShare < 2 ? 'under' : 'OVER'} the 2% budget`,
    );
  } finally {
    await pipeline.dispose();
  }
}

async function main(): Promise<void> {
  const models: [string, string][] = [];
  const tinySd = referencePath('tiny-sd', 'onnx');
  if (tinySd) models.push(['tiny-sd (diffusers reference, random weights)', tinySd]);
  else console.warn('tiny-sd not found (../shared/reference/tiny-sd): skipped');
  const modelTiny = path.resolve(__dirname, '../../model-tiny/model');
  if (fs.existsSync(path.join(modelTiny, 'model_index.json'))) models.push(['latentkit-tiny (@latentkit/model-tiny)', modelTiny]);
  else console.warn('@latentkit/model-tiny has no model yet: skipped');
  for (const [name, folder] of models) {
    for (const mode of ['batched', 'sequential'] as const) await benchModel(name, folder, mode);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
