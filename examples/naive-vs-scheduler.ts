/**
 * Question 1: what does the scheduler do, and why not just subtract the predicted noise?
 *
 * Same model, same prompt, same seeds, same starting noise; only the update rule changes:
 * - naive: x ← x − ε̂ at each of the scheduler's timesteps (the model predicts the noise, so
 *   remove it);
 * - DDIM with 1 step: the model's one-shot estimate of the clean latent x̂₀ from pure noise;
 * - DDIM (Song et al. 2021), Euler (Karras et al. 2022) and DPM-Solver++ 2M (Lu et al. 2022)
 *   with `--steps` steps.
 * For a batch of `--images` images per sampler it prints three distances from the data: the
 * latent Fréchet distance to renders of what the prompt asks for (`lib/latent-distribution.ts`),
 * the palette distance (`lib/images.ts`), the spread of the shapes' positions, and how many
 * images the shape analyser of `@latentkit/testing` reads as the prompt. A row for real images
 * (the renders) calibrates them.
 *
 *   pnpm --filter @latentkit/examples exec tsx naive-vs-scheduler.ts [--steps 20] [--seed 0]
 */
import * as path from 'node:path';
import { InvalidArgumentError, createTensor, splitBatch, type Scheduler, type SchedulerStepOutput, type StepOptions, type Tensor } from '@latentkit/core';
import { StableDiffusionPipeline } from '@latentkit/pipeline';
import { alphasCumprodFrom, betasFor, schedulerFromName, type NoiseScheduleConfig } from '@latentkit/schedulers';
import { analyseShapeImage } from '@latentkit/testing';
import { displayPath, formatTable, parseFlags, printer, processIo, runIfScript, type ExampleIo } from './lib/example-cli';
import { paletteDistance, type Rgb8Image } from './lib/images';
import { saveLabelledGrid } from './lib/labelled-grid';
import { channelStatistics, encodeToLatents, frechetDistance, parseShapePrompt, requestRenders } from './lib/latent-distribution';

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
  readonly images: readonly Rgb8Image[];
  readonly latentDistance: number;
  readonly paletteDistance: number;
  /** Images the analyser reads as the prompt's shape and colours. */
  readonly followed: number;
  /** Root-mean-square distance (pixels) of the shapes' centres from their mean: the batch's variety of placement. */
  readonly centreSpread: number;
}

const FLAGS = {
  prompt: { type: 'string', default: 'a red circle on a blue background', help: 'a prompt of the form "a <colour> <shape> on a <colour> background"' },
  steps: { type: 'number', default: 20, help: 'denoising steps of each sampler' },
  images: { type: 'number', default: 8, help: 'images per sampler (the statistics are over the batch)' },
  seed: { type: 'number', default: 0, help: 'seed of the starting noise' },
  guidance: { type: 'number', default: 7.5, help: 'classifier-free guidance scale' },
} as const;

const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;

/**
 * How varied the placement of the shapes is: the RMS distance, in pixels, of each image's shape
 * centre (the analyser's bounding box) from the batch's mean centre. The training set places
 * shapes anywhere; a sampler that returns the average image puts them all in the middle.
 */
function centreSpread(images: readonly Rgb8Image[]): number {
  const centres = images
    .map((image) => analyseShapeImage(image).boundingBox)
    .filter((box) => box !== null)
    .map((box) => [box.x + box.width / 2, box.y + box.height / 2] as const);
  if (centres.length < 2) return 0;
  const [cx, cy] = [mean(centres.map((c) => c[0])), mean(centres.map((c) => c[1]))];
  return Math.sqrt(mean(centres.map(([x, y]) => (x - cx) ** 2 + (y - cy) ** 2)));
}

/**
 * The noise schedule at a few of the timesteps a sampler visits: x_t = √ᾱ_t·x₀ + √(1−ᾱ_t)·ε, and
 * the σ = √((1−ᾱ_t)/ᾱ_t) that Euler and DPM-Solver++ step in.
 */
function scheduleRows(config: Readonly<Record<string, unknown>>, timesteps: readonly number[]): string[][] {
  const alphasCumprod = alphasCumprodFrom(betasFor(config as unknown as NoiseScheduleConfig, String(config._class_name ?? 'scheduler')));
  const picked = [...new Set([0, Math.round((timesteps.length - 1) / 4), Math.round((timesteps.length - 1) / 2), Math.round((3 * (timesteps.length - 1)) / 4), timesteps.length - 1])];
  return picked.map((index) => {
    const t = timesteps[index]!;
    const alpha = alphasCumprod[t]!;
    return [String(t), alpha.toFixed(4), Math.sqrt(alpha).toFixed(3), Math.sqrt(1 - alpha).toFixed(3), Math.sqrt((1 - alpha) / alpha).toFixed(3)];
  });
}

/**
 * Runs the comparison and prints the table.
 *
 * @example
 * ```ts
 * await main(['--steps', '10', '--images', '4']);
 * ```
 */
export async function main(argv: readonly string[], io: ExampleIo = processIo): Promise<void> {
  const print = printer(io);
  const { model, outDir, values } = parseFlags(argv, FLAGS);
  const prompt = String(values.prompt);
  const request = parseShapePrompt(prompt);
  if (!request) {
    throw new InvalidArgumentError({ name: '--prompt', expected: 'a prompt of the form "a <colour> <shape> on a <colour> background" (the measures compare with renders of it)', actual: prompt });
  }
  const steps = Number(values.steps);
  const count = Number(values.images);
  const loaded = await StableDiffusionPipeline.fromPretrained(model);
  try {
    const { unet, vae, textEncoder } = loaded;
    const side = loaded.defaultImageSize;
    const follows = (image: Rgb8Image) => {
      const found = analyseShapeImage(image);
      return found.shape === request.shape && found.foreground === request.foreground && found.background === request.background;
    };
    const renders = requestRenders(request, side);
    const renderLatents = await encodeToLatents(vae, renders);
    const data = channelStatistics(renderLatents);
    // Calibration: half the renders against the other half, at the batch size the samplers get.
    const halves = splitBatch(renderLatents, 2);
    const calibration = frechetDistance(channelStatistics(halves[0]!), channelStatistics(halves[1]!));

    const samplers: [label: string, scheduler: Scheduler, steps: number][] = [
      ['naive x − ε̂', new NaiveSubtractionScheduler(schedulerFromName('DDIMScheduler', loaded.scheduler)), steps],
      // "trailing" spacing puts a single step at t = 999 ("leading" would put it at t = 1).
      ['DDIM, 1 step (x̂₀)', schedulerFromName('DDIMScheduler', loaded.scheduler, { timestep_spacing: 'trailing' }), 1],
      ['DDIM', schedulerFromName('DDIMScheduler', loaded.scheduler), steps],
      ['Euler', schedulerFromName('EulerDiscreteScheduler', loaded.scheduler), steps],
      ['DPM-Solver++ 2M', schedulerFromName('DPMSolverMultistepScheduler', loaded.scheduler), steps],
    ];
    const results: SamplerResult[] = [];
    for (const [label, scheduler, stepCount] of samplers) {
      // The same components with another scheduler: a pipeline is only their orchestration.
      const pipeline = new StableDiffusionPipeline({ unet, vae, textEncoder, scheduler });
      const { images, latents } = await pipeline.textToImage({
        prompt,
        numImagesPerPrompt: count,
        seed: Number(values.seed),
        numInferenceSteps: stepCount,
        guidanceScale: Number(values.guidance),
      });
      results.push({
        label,
        steps: stepCount,
        images,
        latentDistance: frechetDistance(channelStatistics(latents), data),
        paletteDistance: mean(images.map(paletteDistance)),
        followed: images.filter(follows).length,
        centreSpread: centreSpread(images),
      });
    }

    const shown = Math.min(count, 4);
    const file = await saveLabelledGrid(
      path.join(outDir, 'naive-vs-scheduler.png'),
      [...results.map((r) => ({ label: r.label.includes('step') ? r.label : `${r.label}, ${r.steps} steps`, images: r.images.slice(0, shown) })), { label: 'renders of the prompt', images: renders.slice(0, shown) }],
      { title: `"${prompt}", the same starting noise in every column`, columns: Array.from({ length: shown }, (_, i) => `image ${i + 1}`) },
    );
    print(`prompt: "${prompt}", ${count} images per sampler (seed ${Number(values.seed)}), guidance ${Number(values.guidance)}, ${side}×${side}`);
    const ddim = schedulerFromName('DDIMScheduler', loaded.scheduler);
    ddim.setTimesteps(steps);
    print(`noise schedule (${String(ddim.config.beta_schedule)}, β ${String(ddim.config.beta_start)} → ${String(ddim.config.beta_end)}) at ${steps}-step DDIM's timesteps:`);
    print(formatTable([['t', 'ᾱ_t', 'signal √ᾱ_t', 'noise √(1−ᾱ_t)', 'σ_t'], ...scheduleRows(ddim.config, ddim.timesteps)], [0, 1, 2, 3, 4]));
    print();
    print(
      formatTable(
        [
          ['sampler', 'steps', 'latent FD', 'palette dist.', 'centre spread', 'prompt followed'],
          ...results.map((r) => [r.label, String(r.steps), r.latentDistance.toFixed(3), r.paletteDistance.toFixed(1), `${r.centreSpread.toFixed(1)} px`, `${r.followed}/${count}`]),
          ['renders of the prompt', '—', calibration.toFixed(3), mean(renders.map(paletteDistance)).toFixed(1), `${centreSpread(renders).toFixed(1)} px`, `${renders.filter(follows).length}/${renders.length}`],
        ],
        [1, 2, 3, 4, 5],
      ),
    );
    print();
    print(`latent FD: Fréchet distance between per-channel Gaussians fitted to the batch's final latents and to the latents of ${renders.length} renders of the prompt (0 = as the data; the renders row: one half against the other)`);
    print('palette dist.: mean RGB distance (0–441) from each pixel to the nearest of the 8 colours the training images use');
    print('centre spread: RMS distance of the shapes\' centres from their mean, in pixels (the variety of placement)');
    print('prompt followed: images the shape analyser of @latentkit/testing reads as the prompt\'s shape and colours');
    print(`images (one row per sampler as in the table, then renders of the prompt): ${displayPath(file)}`);
  } finally {
    await loaded.dispose();
  }
}

runIfScript(module, main);
