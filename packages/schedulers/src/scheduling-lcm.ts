/**
 * Latent consistency models (Luo et al. 2023, "Latent Consistency Models"), diffusers'
 * `LCMScheduler`: each step maps x_t to the consistency function's estimate of x₀ and re-noises
 * it to the next timestep (multistep consistency sampling, Song et al. 2023, Algorithm 1).
 */
import { InvalidArgumentError, createTensor, type SchedulerStepOutput, type SetTimestepsOptions, type StepOptions, type Tensor } from '@latentkit/core';
import { clampOriginalSample, predictOriginalSample } from './prediction';
import { SchedulerBase, type SchedulerConfig, type SchedulerOptions } from './scheduler-base';
import type { TimestepSpacing } from './timestep-spacing';

/** `LCMScheduler`'s config (diffusers' keys and defaults). */
export interface LCMSchedulerConfig extends SchedulerConfig {
  original_inference_steps: number;
  clip_sample: boolean;
  clip_sample_range: number;
  set_alpha_to_one: boolean;
  steps_offset: number;
  thresholding: boolean;
  dynamic_thresholding_ratio: number;
  sample_max_value: number;
  timestep_spacing: TimestepSpacing;
  timestep_scaling: number;
  rescale_betas_zero_snr: boolean;
}

/**
 * `LCMScheduler`'s defaults (diffusers 0.25), used for every key a config leaves out.
 *
 * @example
 * ```ts
 * new LCMScheduler({ ...LCM_DEFAULTS, beta_schedule: 'scaled_linear' });
 * ```
 */
export const LCM_DEFAULTS: LCMSchedulerConfig = {
  num_train_timesteps: 1000,
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  trained_betas: null,
  original_inference_steps: 50,
  clip_sample: false,
  clip_sample_range: 1.0,
  set_alpha_to_one: true,
  steps_offset: 0,
  prediction_type: 'epsilon',
  thresholding: false,
  dynamic_thresholding_ratio: 0.995,
  sample_max_value: 1.0,
  timestep_spacing: 'leading',
  timestep_scaling: 10.0,
  rescale_betas_zero_snr: false,
};

/** LCM's extra `setTimesteps` options (diffusers' keyword arguments). */
export interface LCMSetTimestepsOptions extends SetTimestepsOptions {
  /** The distillation schedule's step count (default: the config's `original_inference_steps`). */
  originalInferenceSteps?: number;
  /** Use only the first ⌊original·strength⌋ distillation timesteps (img2img with LCM). */
  strength?: number;
}

/** σ_data of the consistency-model boundary condition (Song et al. 2023, App. C). */
const SIGMA_DATA = 0.5;
const f32 = Math.fround;

/**
 * LCM sampler (for LCM-distilled UNets and LCM-LoRA); every step but the last draws noise.
 *
 * @example
 * ```ts
 * const scheduler = new LCMScheduler(lcmSchedulerConfig);
 * scheduler.setTimesteps(4); // [999, 759, 499, 259]
 * ```
 */
export class LCMScheduler extends SchedulerBase<LCMSchedulerConfig> {
  readonly order = 1;

  constructor(config?: Readonly<Record<string, unknown>>, options?: SchedulerOptions) {
    super('LCMScheduler', config, LCM_DEFAULTS, options);
  }

  /**
   * n timesteps picked evenly (by index) from the distillation schedule
   * t_k = k·(T // original_inference_steps) − 1, k = 1 … ⌊original·strength⌋, descending.
   */
  setTimesteps(numInferenceSteps: number, options: LCMSetTimestepsOptions = {}): void {
    this.refuseCustomSchedule(options);
    const numTrain = this.config.num_train_timesteps;
    const original = options.originalInferenceSteps ?? this.config.original_inference_steps;
    const strength = options.strength ?? 1;
    if (!Number.isInteger(original) || original < 1 || original > numTrain) {
      throw new InvalidArgumentError({ name: 'originalInferenceSteps', expected: `an integer in [1, ${numTrain}]`, actual: original });
    }
    if (!Number.isInteger(numInferenceSteps) || numInferenceSteps < 1 || numInferenceSteps > original) {
      throw new InvalidArgumentError({
        name: 'LCMScheduler.setTimesteps(numInferenceSteps)',
        expected: `an integer in [1, ${original}] (original_inference_steps)`,
        actual: numInferenceSteps,
      });
    }
    const k = Math.floor(numTrain / original);
    const candidates = Array.from({ length: Math.floor(original * strength) }, (_, i) => (i + 1) * k - 1).reverse();
    if (Math.floor(candidates.length / numInferenceSteps) < 1) {
      throw new InvalidArgumentError({
        name: 'LCMScheduler.setTimesteps(numInferenceSteps)',
        expected: `at most ${candidates.length} steps at strength ${strength}`,
        actual: numInferenceSteps,
        hint: 'raise the strength or lower the step count',
      });
    }
    // np.linspace(0, len, n, endpoint=False) floored: evenly spaced indices.
    this.startSchedule(Array.from({ length: numInferenceSteps }, (_, i) => candidates[Math.floor(i * (candidates.length / numInferenceSteps))]!), numInferenceSteps);
  }

  /**
   * x̂₀ = c_out·f(x_t) + c_skip·x_t with c_skip = σ_d²/((10t)² + σ_d²), c_out = 10t/√((10t)² + σ_d²)
   * (Luo et al. 2023, eq. 9), then x_{t'} = √ᾱ_{t'}·x̂₀ + √(1 − ᾱ_{t'})·z for the next timestep t'.
   */
  step(modelOutput: Tensor<Float32Array>, timestep: number, sample: Tensor<Float32Array>, options: StepOptions = {}): SchedulerStepOutput {
    this.requireTimesteps('step');
    if (this.stepIndex === undefined) this.stepIndex = this.beginIndex ?? this.indexForTimestep(timestep);
    const index = this.stepIndex;
    if (this.schedule[index] !== timestep) this.indexForTimestep(timestep);
    this.checkStepInputs(modelOutput, sample);
    const last = index >= this.schedule.length - 1;
    const prevTimestep = last ? timestep : this.schedule[index + 1]!;
    const alphaProduct = this.alphasCumprod[timestep]!;
    const alphaProductPrev = this.alphaCumprodOrFinal(prevTimestep, this.config.set_alpha_to_one);
    const scaled = timestep * this.config.timestep_scaling;
    const cSkip = f32(SIGMA_DATA ** 2 / (scaled ** 2 + SIGMA_DATA ** 2));
    const cOut = f32(scaled / (scaled ** 2 + SIGMA_DATA ** 2) ** 0.5);
    const x = sample.data;
    const size = x.length;
    // x̂₀ is an intermediate here (the step returns the boundary-conditioned estimate), so it lives in a reused buffer.
    const original = predictOriginalSample(this.config.prediction_type, alphaProduct, modelOutput.data, x, this.reusable('x0', size));
    clampOriginalSample(this.config, original, sample.dims[0]!);
    const denoised = new Float32Array(size);
    for (let i = 0; i < size; i++) denoised[i] = f32(cOut * original[i]!) + f32(cSkip * x[i]!);
    let prev = denoised;
    if (!last) {
      const noise = this.drawNoise(this.requireGenerator(options, 're-noises the estimate at every step but the last'), sample.dims, size);
      const signal = f32(Math.sqrt(alphaProductPrev));
      const noiseScale = f32(Math.sqrt(f32(1 - alphaProductPrev)));
      prev = new Float32Array(size);
      for (let i = 0; i < size; i++) prev[i] = f32(signal * denoised[i]!) + f32(noiseScale * noise[i]!);
    }
    this.stepIndex = index + 1;
    return { prevSample: createTensor(sample.dims, prev), predOriginalSample: createTensor(sample.dims, denoised) };
  }
}
