/**
 * Question 1, as a picture: the denoising trajectory of two schedulers side by side.
 *
 * The same model, prompt, seed and starting noise run with DDIM (deterministic) and Euler
 * ancestral (adds fresh noise at every step). After every step the script decodes, with the VAE,
 * - the scheduler's estimate of the clean latent x̂₀ (what the model thinks the final picture is), and
 * - the current latent x_t, scaled to unit variance as the UNet sees it (x/√(σ²+1) for σ-based
 *   schedulers, x_t itself for DDIM),
 * and lays them out in one labelled strip per scheduler. It prints how close each step's x̂₀ is to
 * the final image (PSNR), which shows the coarse layout being settled in the first steps and the
 * details in the last.
 *
 *   pnpm --filter @latentkit/examples exec tsx denoising-trajectory.ts [--steps 10] [--seed 0]
 */
import * as path from 'node:path';
import { createTensor, type Scheduler, type Tensor } from '@latentkit/core';
import { StableDiffusionPipeline, tensorToImages } from '@latentkit/pipeline';
import { schedulerFromName } from '@latentkit/schedulers';
import { displayPath, formatTable, parseFlags, printer, processIo, runIfScript, type ExampleIo } from './lib/example-cli';
import { psnr, type Rgb8Image } from './lib/images';
import { saveLabelledGrid } from './lib/labelled-grid';

const FLAGS = {
  prompt: { type: 'string', default: 'a red circle on a blue background', help: 'the prompt' },
  steps: { type: 'number', default: 10, help: 'denoising steps (one column each)' },
  seed: { type: 'number', default: 0, help: 'seed of the starting noise (the same for both schedulers)' },
  guidance: { type: 'number', default: 5, help: 'classifier-free guidance scale' },
  schedulers: { type: 'string', default: 'DDIMScheduler,EulerAncestralDiscreteScheduler', help: 'two comma-separated scheduler names or aliases' },
} as const;

/** What one scheduler's run leaves: per step its timestep, x̂₀ and x_t decoded, and the final image. */
interface Trajectory {
  readonly name: string;
  readonly timesteps: number[];
  readonly predictedOriginal: Rgb8Image[];
  readonly current: Rgb8Image[];
  readonly final: Rgb8Image;
}

const formatDb = (db: number) => (Number.isFinite(db) ? `${db.toFixed(1)} dB` : '∞');

async function trace(pipeline: StableDiffusionPipeline, scheduler: Scheduler, label: string, options: { prompt: string; steps: number; seed: number; guidance: number }): Promise<Trajectory> {
  const run = new StableDiffusionPipeline({ unet: pipeline.unet, vae: pipeline.vae, textEncoder: pipeline.textEncoder, scheduler });
  const decode = async (latents: Tensor<Float32Array>): Promise<Rgb8Image> => {
    // The VAE decodes latents divided by its scaling factor (diffusers: latents / vae.config.scaling_factor).
    const scaled = createTensor(latents.dims, latents.data.map((v) => v / pipeline.vae.scalingFactor));
    return tensorToImages(await pipeline.vae.decode(scaled), 'uint8')[0]!;
  };
  // The pipeline runs its own copy of the scheduler. A fresh copy per step scales latents to unit
  // variance (a scheduler fixes its step index at its first call, so one copy cannot be reused).
  const unitVarianceAt = (latents: Tensor<Float32Array>, step: number) => {
    const probe = schedulerFromName(scheduler.className, scheduler.config);
    probe.setTimesteps(options.steps);
    return probe.scaleModelInput(latents, probe.timesteps[step]!);
  };
  const timesteps: number[] = [];
  const predictedOriginal: Rgb8Image[] = [];
  const current: Rgb8Image[] = [];
  const { images } = await run.textToImage({
    prompt: options.prompt,
    numInferenceSteps: options.steps,
    seed: options.seed,
    guidanceScale: options.guidance,
    onStep: async ({ step, numSteps, timestep, latents, predictedOriginal: x0 }) => {
      timesteps.push(timestep);
      // After step i the latents are at the next timestep: scaleModelInput gives x_t as the UNet sees it
      // there; after the last step they are the clean latent (σ = 0).
      const unitVariance = step + 1 < numSteps ? unitVarianceAt(latents, step + 1) : latents;
      current.push(await decode(unitVariance));
      predictedOriginal.push(await decode(x0 ?? latents));
    },
  });
  return { name: label, timesteps, predictedOriginal, current, final: images[0]! };
}

/**
 * Runs both schedulers, prints x̂₀'s PSNR against the final image per step and writes the strip.
 *
 * @example
 * ```ts
 * await main(['--steps', '6']);
 * ```
 */
export async function main(argv: readonly string[], io: ExampleIo = processIo): Promise<void> {
  const print = printer(io);
  const { model, outDir, values } = parseFlags(argv, FLAGS);
  const options = { prompt: String(values.prompt), steps: Number(values.steps), seed: Number(values.seed), guidance: Number(values.guidance) };
  const names = String(values.schedulers).split(',').map((name) => name.trim());
  const pipeline = await StableDiffusionPipeline.fromPretrained(model);
  try {
    const runs: Trajectory[] = [];
    for (const name of names) {
      const scheduler = schedulerFromName(name, pipeline.scheduler);
      runs.push(await trace(pipeline, scheduler, scheduler.className, options));
    }
    print(`prompt: "${options.prompt}", ${options.steps} steps, guidance ${options.guidance}, seed ${options.seed} (the same starting noise for both)`);
    print();
    const header = ['step', ...runs.flatMap((run) => [`${run.name} t`, `x̂₀ vs final`])];
    const rows = Array.from({ length: options.steps }, (_, i) => [
      String(i + 1),
      ...runs.flatMap((run) => [String(Math.round(run.timesteps[i]!)), formatDb(psnr(run.final, run.predictedOriginal[i]!))]),
    ]);
    print(formatTable([header, ...rows], header.map((_, i) => i)));
    print();
    print('x̂₀ vs final: PSNR of the step\'s clean-image estimate against the finished image (∞ = identical)');
    const file = await saveLabelledGrid(
      path.join(outDir, 'denoising-trajectory.png'),
      runs.flatMap((run) => [
        { label: `${run.name}: x̂₀`, images: run.predictedOriginal },
        { label: `${run.name}: x_t`, images: run.current },
      ]),
      {
        title: `"${options.prompt}": each step's clean-image estimate x̂₀ and current latent x_t, decoded by the VAE`,
        columns: runs[0]!.timesteps.map((t, i) => `step ${i + 1}, t ${Math.round(t)}`),
        scale: 2,
      },
    );
    print(`images (rows: x̂₀ and x_t per scheduler; columns: steps): ${displayPath(file)}`);
  } finally {
    await pipeline.dispose();
  }
}

runIfScript(module, main);
