/**
 * DDPM: denoising diffusion probabilistic models (Ho, Jain & Abbeel 2020), diffusers'
 * `DDPMScheduler`: ancestral sampling from the posterior q(x_{t−1} | x_t, x̂₀).
 */
import { InvalidArgumentError, createTensor, type SchedulerStepOutput, type StepOptions, type Tensor, type SetTimestepsOptions } from '@latentkit/core';
import { clampOriginalSample, predictOriginalSample } from './prediction';
import { NOISE_SCHEDULE_DEFAULTS } from './noise-schedule';
import { THRESHOLDING_DEFAULTS } from './thresholding';
import { SchedulerBase, type SchedulerConfig, type SchedulerOptions } from './scheduler-base';
import { checkSpacing, type TimestepSpacing } from './timestep-spacing';

/** The variance types latentkit runs (diffusers' `fixed_large_log` yields NaN there and the learned ones need a variance-predicting UNet). */
export const DDPM_VARIANCE_TYPES = ['fixed_small', 'fixed_small_log', 'fixed_large'] as const;

/** `DDPMScheduler`'s config (diffusers' keys and defaults). */
export interface DDPMSchedulerConfig extends SchedulerConfig {
  variance_type: (typeof DDPM_VARIANCE_TYPES)[number];
  clip_sample: boolean;
  thresholding: boolean;
  dynamic_thresholding_ratio: number;
  clip_sample_range: number;
  sample_max_value: number;
  timestep_spacing: TimestepSpacing;
  steps_offset: number;
  rescale_betas_zero_snr: boolean;
}

/**
 * `DDPMScheduler`'s defaults (diffusers 0.25), used for every key a config leaves out.
 *
 * @example
 * ```ts
 * new DDPMScheduler({ ...DDPM_DEFAULTS, beta_schedule: 'scaled_linear' });
 * ```
 */
export const DDPM_DEFAULTS: DDPMSchedulerConfig = {
  ...NOISE_SCHEDULE_DEFAULTS,
  variance_type: 'fixed_small',
  clip_sample: true,
  prediction_type: 'epsilon',
  ...THRESHOLDING_DEFAULTS,
  timestep_spacing: 'leading',
  steps_offset: 0,
  rescale_betas_zero_snr: false,
};

const f32 = Math.fround;

/**
 * DDPM ancestral sampler; every step but the last draws noise from `options.generator`.
 *
 * @example
 * ```ts
 * const scheduler = new DDPMScheduler({ beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012 });
 * scheduler.setTimesteps(50);
 * const { prevSample } = scheduler.step(noisePred, scheduler.timesteps[0], latents, { generator: new TorchGenerator(0) });
 * ```
 */
export class DDPMScheduler extends SchedulerBase<DDPMSchedulerConfig> {
  readonly order = 1;

  constructor(config?: Readonly<Record<string, unknown>>, options?: SchedulerOptions) {
    super('DDPMScheduler', config, DDPM_DEFAULTS, options);
    checkSpacing(this.className, this.config.timestep_spacing);
    if (!DDPM_VARIANCE_TYPES.includes(this.config.variance_type)) {
      throw new InvalidArgumentError({
        name: 'DDPMScheduler config.variance_type',
        expected: DDPM_VARIANCE_TYPES.map((v) => `'${v}'`).join(' | '),
        actual: this.config.variance_type,
        hint: "'learned' and 'learned_range' need a UNet that predicts its variance (latentkit's pipelines run epsilon/v UNets); 'fixed_large_log' gives NaN in diffusers",
      });
    }
  }

  setTimesteps(numInferenceSteps: number, options?: SetTimestepsOptions): void {
    this.setDiscreteTimesteps(numInferenceSteps, options, this.config.timestep_spacing, this.config.steps_offset);
  }

  /**
   * One DDPM step: the posterior mean μ̃(x_t, x̂₀) of Ho et al. 2020 eq. 7, plus σ_t·z for t > 0
   * with σ_t² = β̃_t (eq. 7, `fixed_small`) or β_t (`fixed_large`).
   */
  step(modelOutput: Tensor<Float32Array>, timestep: number, sample: Tensor<Float32Array>, options: StepOptions = {}): SchedulerStepOutput {
    this.checkStep(modelOutput, timestep, sample);
    // diffusers steps to t − T//n whatever the spacing.
    const prevTimestep = timestep - Math.floor(this.config.num_train_timesteps / this.numInferenceSteps!);
    const alphaProduct = this.alphasCumprod[timestep]!;
    const alphaProductPrev = prevTimestep >= 0 ? this.alphasCumprod[prevTimestep]! : 1;
    const betaProduct = f32(1 - alphaProduct);
    const betaProductPrev = f32(1 - alphaProductPrev);
    const currentAlpha = f32(alphaProduct / alphaProductPrev);
    const currentBeta = f32(1 - currentAlpha);
    const x = sample.data;
    const size = x.length;

    const original = predictOriginalSample(this.config.prediction_type, alphaProduct, modelOutput.data, x);
    clampOriginalSample(this.config, original, sample.dims[0]!);
    const originalCoefficient = f32(f32(f32(Math.sqrt(alphaProductPrev)) * currentBeta) / betaProduct);
    const sampleCoefficient = f32(f32(f32(Math.sqrt(currentAlpha)) * betaProductPrev) / betaProduct);
    const prev = new Float32Array(size);
    for (let i = 0; i < size; i++) prev[i] = f32(originalCoefficient * original[i]!) + f32(sampleCoefficient * x[i]!);

    if (timestep > 0) {
      const noise = this.drawNoise(this.requireGenerator(options, 'draws noise at every step with t > 0'), sample.dims, size);
      const scale = this.noiseScale(betaProduct, betaProductPrev, currentBeta);
      for (let i = 0; i < size; i++) prev[i] = prev[i]! + f32(scale * noise[i]!);
    }
    return { prevSample: createTensor(sample.dims, prev), predOriginalSample: createTensor(sample.dims, original) };
  }

  /** σ_t of the added noise for the configured variance type (Ho et al. 2020 §3.2). */
  private noiseScale(betaProduct: number, betaProductPrev: number, currentBeta: number): number {
    // β̃_t = (1 − ᾱ_{t−1})/(1 − ᾱ_t)·β_t, clamped away from 0 for the logarithm.
    const posterior = Math.max(f32(f32(betaProductPrev / betaProduct) * currentBeta), 1e-20);
    switch (this.config.variance_type) {
      case 'fixed_small':
        return f32(Math.sqrt(posterior));
      case 'fixed_small_log':
        // The same σ computed as exp(½·log β̃), as diffusers does for this type.
        return f32(Math.exp(f32(0.5 * f32(Math.log(posterior)))));
      case 'fixed_large':
        return f32(Math.sqrt(currentBeta));
    }
  }
}
