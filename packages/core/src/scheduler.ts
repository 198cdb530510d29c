/** The scheduler contract, diffusers' in camelCase. A scheduler is a fixed algorithm: it has no weights. */
import { InvalidArgumentError } from './errors';
import type { Generator } from './generator';
import type { Tensor } from './tensor';
import type { PredictionType } from './unet';

export interface SetTimestepsOptions {
  /** Explicit timesteps (descending), where the scheduler supports them. */
  timesteps?: readonly number[];
  /** Explicit sigmas, where the scheduler supports them. */
  sigmas?: readonly number[];
}

export interface StepOptions {
  /** Source of the noise a stochastic scheduler draws. */
  generator?: Generator;
  /** DDIM's η (0 = deterministic DDIM, 1 = DDPM-like). */
  eta?: number;
  /**
   * DDIM: re-derive ε̂ from the clipped or thresholded x̂₀ for the direction term (diffusers'
   * `use_clipped_model_output`; default false: the model's own ε̂).
   */
  useClippedModelOutput?: boolean;
}

export interface SchedulerStepOutput {
  /** x_{t−1}: the sample for the next step. */
  readonly prevSample: Tensor<Float32Array>;
  /** The model's estimate of the clean sample x₀, where the scheduler computes it. */
  readonly predOriginalSample?: Tensor<Float32Array>;
}

/**
 * A diffusion scheduler (sampler).
 *
 * @example
 * ```ts
 * scheduler.setTimesteps(20);
 * let latents = initialNoise.map((x) => x * scheduler.initNoiseSigma);
 * for (const t of scheduler.timesteps) {
 *   const input = scheduler.scaleModelInput(latents, t);
 *   const noise = await unet.predict({ sample: input, timestep: t, encoderHiddenStates });
 *   latents = scheduler.step(noise, t, latents, { generator }).prevSample;
 * }
 * ```
 */
export interface Scheduler {
  readonly specificationVersion: 'v1';
  /** The diffusers class name, e.g. `'DDIMScheduler'`. */
  readonly className: string;
  /** The resolved configuration in diffusers' snake_case keys (what `scheduler_config.json` holds). */
  readonly config: Readonly<Record<string, unknown>>;
  /** How many model evaluations one step of the underlying method needs (2 for Heun). */
  readonly order: number;
  /** Timesteps of the current schedule, in the order they are visited. */
  readonly timesteps: readonly number[];
  /** Standard deviation of the initial noise. */
  readonly initNoiseSigma: number;
  /** What the scheduler expects the model to predict. */
  readonly predictionType: PredictionType;
  setTimesteps(numInferenceSteps: number, options?: SetTimestepsOptions): void;
  scaleModelInput(sample: Tensor<Float32Array>, timestep: number): Tensor<Float32Array>;
  step(modelOutput: Tensor<Float32Array>, timestep: number, sample: Tensor<Float32Array>, options?: StepOptions): SchedulerStepOutput;
  addNoise(original: Tensor<Float32Array>, noise: Tensor<Float32Array>, timesteps: readonly number[]): Tensor<Float32Array>;
  /** For img2img: timesteps starting part-way along the schedule, with `strength` in (0, 1]. */
  getImg2ImgTimesteps?(numInferenceSteps: number, strength: number): { timesteps: readonly number[]; startIndex: number };
  /**
   * A fresh scheduler of the same class and configuration, with no run state. Schedulers keep
   * state between steps, so a pipeline runs every call on its own clone; a scheduler without
   * `clone()` runs one call at a time.
   */
  clone?(): Scheduler;
  dispose?(): void;
}

/**
 * Where img2img starts in a schedule, as diffusers' `StableDiffusionImg2ImgPipeline.get_timesteps`:
 * it denoises the last `min(⌊n·strength⌋, n)` of n steps, so it skips the first
 * `n − min(⌊n·strength⌋, n)` steps, each `order` timesteps long. The one rule every scheduler
 * and the pipeline use.
 *
 * @example
 * ```ts
 * img2imgStartIndex(50, 0.8, 1); // 10: timesteps[10..] are denoised
 * img2imgStartIndex(10, 0.5, 2); // 10 (Heun: two timesteps a step)
 * ```
 */
export function img2imgStartIndex(numInferenceSteps: number, strength: number, order = 1): number {
  if (typeof strength !== 'number' || !(strength > 0 && strength <= 1)) {
    throw new InvalidArgumentError({ name: 'strength', expected: 'a number in (0, 1]', actual: strength, hint: '1 ignores the input image, 0.3 keeps most of it' });
  }
  const denoised = Math.min(Math.floor(numInferenceSteps * strength), numInferenceSteps);
  return Math.max(numInferenceSteps - denoised, 0) * order;
}
