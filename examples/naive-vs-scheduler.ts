/**
 * Question 1: what does the scheduler do, and why not just subtract the predicted noise?
 *
 * Same model, same prompt, same seed, same starting noise; only the update rule changes:
 * - naive: x ← x − ε̂ at each of the scheduler's timesteps (the model predicts the noise, so
 *   remove it);
 * - DDIM with 1 step: the model's one-shot estimate of the clean latent x̂₀ from pure noise;
 * - DDIM (Song et al. 2021), Euler (Karras et al. 2022) and DPM-Solver++ 2M (Lu et al. 2022)
 *   with `--steps` steps.
 * It saves the images side by side and prints, for each, two distances from the data: the
 * latent Fréchet distance (see `lib/latent-distribution.ts`) and the palette distance (see
 * `lib/images.ts`), plus what the shape analyser of `@latentkit/testing` reads in the image.
 *
 *   pnpm --filter @latentkit/examples exec tsx naive-vs-scheduler.ts [--steps 20] [--seed 0]
 */
import * as path from 'node:path';
import type { Scheduler, SchedulerStepOutput, StepOptions, Tensor } from '@latentkit/core';
import { createTensor } from '@latentkit/core';
import { StableDiffusionPipeline } from '@latentkit/pipeline';
import { schedulerFromName } from '@latentkit/schedulers';
import { analyseShapeImage } from '@latentkit/testing';
import { displayPath, formatTable, parseFlags, printer, processIo, runIfScript, type ExampleIo } from './lib/example-cli';
import { paletteDistance, savePng, sideBySide, type Rgb8Image } from './lib/images';
import { channelStatistics, frechetDistance, shapeDataLatents } from './lib/latent-distribution';

/**
 * The newcomer's sampler: at every timestep subtract the whole predicted noise, x_{t−1} = x_t − ε̂.
 * It borrows the timesteps (and `addNoise`) of the DDIM scheduler it wraps, so that it visits
 * exactly the states DDIM would be asked about; only `step` differs.
 *
 * Why it fails: x_t = √ᾱ_t·x₀ + √(1−ᾱ_t)·ε (Ho et al. 2020, eq. 4). ε̂ estimates the unit-variance ε,
 * not the √(1−ᾱ_t)-scaled noise actually present, and nothing rescales the signal by 1/√ᾱ_t; and
 * subtracting a full ε̂ at every one of N steps removes the noise N times over.
 */
export class NaiveSubtractionScheduler implements Scheduler {
  readonly specificationVersion = 'v1' as const;
  readonly className = 'NaiveSubtraction';
  readonly order = 1;
  readonly initNoiseSigma = 1;

  constructor(private readonly timestepSource: Scheduler) {}

  get config(): Readonly<Record<string, unknown>> {
    return { _class_name: this.className, timesteps_from: this.timestepSource.className };
  }
  get timesteps(): readonly number[] {
    return this.timestepSource.timesteps;
  }
  get predictionType() {
    return this.timestepSource.predictionType;
  }
  setTimesteps(numInferenceSteps: number): void {
    this.timestepSource.setTimesteps(numInferenceSteps);
  }
  scaleModelInput(sample: Tensor<Float32Array>): Tensor<Float32Array> {
    return sample;
  }
  step(modelOutput: Tensor<Float32Array>, _timestep: number, sample: Tensor<Float32Array>, _options?: StepOptions): SchedulerStepOutput {
    const next = new Float32Array(sample.data.length);
    for (let i = 0; i < next.length; i++) next[i] = sample.data[i]! - modelOutput.data[i]!;
    return { prevSample: createTensor(sample.dims, next) };
  }
  addNoise(original: Tensor<Float32Array>, noise: Tensor<Float32Array>, timesteps: readonly number[]): Tensor<Float32Array> {
    return this.timestepSource.addNoise(original, noise, timesteps);
  }
}

/** One row of the comparison. */
export interface SamplerResult {
  readonly label: string;
  readonly steps: number;
  readonly image: Rgb8Image;
  readonly latentDistance: number;
  readonly latentStd: number;
  readonly paletteDistance: number;
  readonly reads: string;
}

const FLAGS = {
  prompt: { type: 'string', default: 'a red circle on a blue background', help: 'the prompt' },
  steps: { type: 'number', default: 20, help: 'denoising steps of each sampler' },
  seed: { type: 'number', default: 0, help: 'seed of the starting noise' },
  guidance: { type: 'number', default: 7.5, help: 'classifier-free guidance scale' },
} as const;

/**
 * Runs the comparison and prints the table.
 *
 * @example
 * ```ts
 * await main(['--steps', '10']);
 * ```
 */
export async function main(argv: readonly string[], io: ExampleIo = processIo): Promise<void> {
  const print = printer(io);
  const { model, outDir, values } = parseFlags(argv, FLAGS);
  const prompt = String(values.prompt);
  const steps = Number(values.steps);
  const loaded = await StableDiffusionPipeline.fromPretrained(model);
  try {
    const { unet, vae, textEncoder } = loaded;
    const side = loaded.defaultImageSize;
    const data = channelStatistics(await shapeDataLatents(vae, side));
    const samplers: [label: string, scheduler: Scheduler, steps: number][] = [
      ['naive x − ε̂', new NaiveSubtractionScheduler(schedulerFromName('DDIMScheduler', loaded.scheduler)), steps],
      ['DDIM, 1 step (x̂₀)', schedulerFromName('DDIMScheduler', loaded.scheduler), 1],
      ['DDIM', schedulerFromName('DDIMScheduler', loaded.scheduler), steps],
      ['Euler', schedulerFromName('EulerDiscreteScheduler', loaded.scheduler), steps],
      ['DPM-Solver++ 2M', schedulerFromName('DPMSolverMultistepScheduler', loaded.scheduler), steps],
    ];
    const results: SamplerResult[] = [];
    for (const [label, scheduler, count] of samplers) {
      // The same components with another scheduler: a pipeline is only their orchestration.
      const pipeline = new StableDiffusionPipeline({ unet, vae, textEncoder, scheduler });
      const { images, latents } = await pipeline.textToImage({
        prompt,
        seed: Number(values.seed),
        numInferenceSteps: count,
        guidanceScale: Number(values.guidance),
      });
      const image = images[0]!;
      const stats = channelStatistics(latents);
      const found = analyseShapeImage(image);
      results.push({
        label,
        steps: count,
        image,
        latentDistance: frechetDistance(stats, data),
        latentStd: stats.std.reduce((a, b) => a + b, 0) / stats.std.length,
        paletteDistance: paletteDistance(image),
        reads: found.shape ? `${found.foreground} ${found.shape} on ${found.background}` : `no shape (on ${found.background})`,
      });
    }

    const file = await savePng(sideBySide(results.map((r) => r.image)), path.join(outDir, 'naive-vs-scheduler.png'));
    print(`prompt: "${prompt}", seed ${Number(values.seed)}, guidance ${Number(values.guidance)}, ${side}×${side}`);
    print(`data: ${data.std.length}-channel latents of ${SHAPE_DATA_DESCRIPTION}: mean std ${mean(data.std).toFixed(3)}`);
    print();
    print(
      formatTable(
        [
          ['sampler', 'steps', 'latent FD', 'latent std', 'palette dist.', 'analyser reads'],
          ...results.map((r) => [r.label, String(r.steps), r.latentDistance.toFixed(3), r.latentStd.toFixed(3), r.paletteDistance.toFixed(1), r.reads]),
        ],
        [1, 2, 3, 4],
      ),
    );
    print();
    print('latent FD: Fréchet distance between per-channel Gaussians of the final latents and of the data latents (0 = as the data)');
    print('palette dist.: mean RGB distance from each pixel to the nearest training colour (a training image: ≈ its edges only)');
    print(`images, left to right as in the table: ${displayPath(file)}`);
  } finally {
    await loaded.dispose();
  }
}

const SHAPE_DATA_DESCRIPTION = '24 renders like the training set (3 shapes × 8 colours)';
const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;

runIfScript(module, main);
