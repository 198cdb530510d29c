/**
 * DDIM: denoising diffusion implicit models (Song, Meng & Ermon 2021), diffusers'
 * `DDIMScheduler`. A non-Markovian sampler of the DDPM model: deterministic for η = 0, DDPM-like
 * for η = 1.
 */
import { InvalidArgumentError, createTensor, type SchedulerStepOutput, type StepOptions, type Tensor, type SetTimestepsOptions } from '@latentkit/core';
import { clampOriginalSample, predictOriginalSample } from './prediction';
import { NOISE_SCHEDULE_DEFAULTS } from './noise-schedule';
import { THRESHOLDING_DEFAULTS } from './thresholding';
import { SchedulerBase, type SchedulerConfig, type SchedulerOptions } from './scheduler-base';
import { checkSpacing, type TimestepSpacing } from './timestep-spacing';

/** `DDIMScheduler`'s config (diffusers' keys and defaults). */
export interface DDIMSchedulerConfig extends SchedulerConfig {
  clip_sample: boolean;
  set_alpha_to_one: boolean;
  steps_offset: number;
  thresholding: boolean;
  dynamic_thresholding_ratio: number;
  clip_sample_range: number;
  sample_max_value: number;
  timestep_spacing: TimestepSpacing;
  rescale_betas_zero_snr: boolean;
}

/**
 * `DDIMScheduler`'s defaults (diffusers 0.25), used for every key a config leaves out.
 *
 * @example
 * ```ts
 * new DDIMScheduler({ ...DDIM_DEFAULTS, beta_schedule: 'scaled_linear' });
 * ```
 */
export const DDIM_DEFAULTS: DDIMSchedulerConfig = {
  ...NOISE_SCHEDULE_DEFAULTS,
  clip_sample: true,
  set_alpha_to_one: true,
  steps_offset: 0,
  prediction_type: 'epsilon',
  ...THRESHOLDING_DEFAULTS,
  timestep_spacing: 'leading',
  rescale_betas_zero_snr: false,
};

const f32 = Math.fround;

/**
 * DDIM sampler.
 *
 * @example
 * ```ts
 * const scheduler = new DDIMScheduler({ beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012, steps_offset: 1 });
 * scheduler.setTimesteps(50);
 * const { prevSample } = scheduler.step(noisePred, scheduler.timesteps[0], latents, { eta: 0 });
 * ```
 */
export class DDIMScheduler extends SchedulerBase<DDIMSchedulerConfig> {
  readonly order = 1;

  constructor(config?: Readonly<Record<string, unknown>>, options?: SchedulerOptions) {
    super('DDIMScheduler', config, DDIM_DEFAULTS, options);
    checkSpacing(this.className, this.config.timestep_spacing);
  }

  setTimesteps(numInferenceSteps: number, options?: SetTimestepsOptions): void {
    this.setDiscreteTimesteps(numInferenceSteps, options, this.config.timestep_spacing, this.config.steps_offset);
  }

  /**
   * One DDIM step, Song et al. 2021 eq. 12: x_{t−1} = √ᾱ_{t−1}·x̂₀ + √(1 − ᾱ_{t−1} − σ_t²)·ε̂ + σ_t·z,
   * with σ_t = η·√((1 − ᾱ_{t−1})/(1 − ᾱ_t))·√(1 − ᾱ_t/ᾱ_{t−1}) (eq. 16). η > 0 draws z from the generator.
   */
  step(modelOutput: Tensor<Float32Array>, timestep: number, sample: Tensor<Float32Array>, options: StepOptions = {}): SchedulerStepOutput {
    this.checkStep(modelOutput, timestep, sample);
    const eta = options.eta ?? 0;
    if (typeof eta !== 'number' || !(eta >= 0)) {
      throw new InvalidArgumentError({ name: 'options.eta', expected: 'a number ≥ 0', actual: eta });
    }
    const useClipped = options.useClippedModelOutput ?? false;
    if (typeof useClipped !== 'boolean') {
      throw new InvalidArgumentError({ name: 'options.useClippedModelOutput', expected: 'true or false', actual: useClipped });
    }
    const prevTimestep = timestep - Math.floor(this.config.num_train_timesteps / this.numInferenceSteps!);
    const alphaProduct = this.alphasCumprod[timestep]!;
    const alphaProductPrev = this.alphaCumprodOrFinal(prevTimestep, this.config.set_alpha_to_one);
    const betaProduct = f32(1 - alphaProduct);
    const betaProductPrev = f32(1 - alphaProductPrev);
    const sqrtAlpha = f32(Math.sqrt(alphaProduct));
    const sqrtBeta = f32(Math.sqrt(betaProduct));
    const model = modelOutput.data;
    const x = sample.data;
    const size = x.length;

    const original = predictOriginalSample(this.config.prediction_type, alphaProduct, model, x);
    /** ε̂ = (x_t − √ᾱ_t·x̂₀) / √(1 − ᾱ_t) from the current x̂₀. */
    const epsilonFromOriginal = (): Float32Array => {
      const epsilon = new Float32Array(size);
      for (let i = 0; i < size; i++) epsilon[i] = f32(x[i]! - f32(sqrtAlpha * original[i]!)) / sqrtBeta;
      return epsilon;
    };
    // ε̂ for the direction term: by default the model's own, taken before any clipping of x̂₀;
    // with useClippedModelOutput, re-derived from the clipped x̂₀ after it (as diffusers).
    let epsilon: Float32Array | undefined;
    if (!useClipped) {
      if (this.config.prediction_type === 'epsilon') epsilon = model;
      else if (this.config.prediction_type === 'sample') epsilon = epsilonFromOriginal();
      else {
        epsilon = new Float32Array(size);
        for (let i = 0; i < size; i++) epsilon[i] = f32(sqrtAlpha * model[i]!) + f32(sqrtBeta * x[i]!);
      }
    }
    clampOriginalSample(this.config, original, sample.dims[0]!);
    epsilon ??= epsilonFromOriginal();

    const variance = f32(f32(betaProductPrev / betaProduct) * f32(1 - f32(alphaProduct / alphaProductPrev)));
    const std = f32(eta * f32(Math.sqrt(variance)));
    const directionScale = f32(Math.sqrt(f32(f32(1 - alphaProductPrev) - f32(std * std))));
    const sqrtAlphaPrev = f32(Math.sqrt(alphaProductPrev));
    const prev = new Float32Array(size);
    for (let i = 0; i < size; i++) prev[i] = f32(sqrtAlphaPrev * original[i]!) + f32(directionScale * epsilon[i]!);
    if (eta > 0) {
      const noise = this.drawNoise(this.requireGenerator(options, 'draws noise when eta > 0'), sample.dims, size);
      for (let i = 0; i < size; i++) prev[i] = prev[i]! + f32(std * noise[i]!);
    }
    return { prevSample: createTensor(sample.dims, prev), predOriginalSample: createTensor(sample.dims, original) };
  }
}
