/**
 * Ancestral Euler sampling, diffusers' `EulerAncestralDiscreteScheduler` ("Euler a"): an Euler
 * step down to σ_down, then fresh noise of scale σ_up so that σ_down² + σ_up² = σ_next²
 * (k-diffusion's `get_ancestral_step`, after Song et al. 2021's ancestral sampling).
 */
import { createTensor, type SchedulerStepOutput, type SetTimestepsOptions, type StepOptions, type Tensor } from '@latentkit/core';
import type { SchedulerOptions } from './scheduler-base';
import { SIGMA_SCHEDULER_DEFAULTS, SigmaSchedulerBase, type SigmaSchedulerConfig } from './sigma-scheduler-base';
import { predictOriginalSampleFromSigma } from './prediction';

/** `EulerAncestralDiscreteScheduler`'s config (diffusers' keys and defaults). */
export interface EulerAncestralDiscreteSchedulerConfig extends SigmaSchedulerConfig {
  rescale_betas_zero_snr: boolean;
}

/**
 * `EulerAncestralDiscreteScheduler`'s defaults (diffusers 0.25), used for every key a config leaves out.
 *
 * @example
 * ```ts
 * new EulerAncestralDiscreteScheduler({ ...EULER_ANCESTRAL_DEFAULTS, beta_schedule: 'scaled_linear' });
 * ```
 */
export const EULER_ANCESTRAL_DEFAULTS: EulerAncestralDiscreteSchedulerConfig = {
  ...SIGMA_SCHEDULER_DEFAULTS,
  rescale_betas_zero_snr: false,
};

const f32 = Math.fround;

/**
 * Euler ancestral sampler; every step draws noise from `options.generator`.
 *
 * @example
 * ```ts
 * const scheduler = new EulerAncestralDiscreteScheduler(unetSchedulerConfig);
 * scheduler.setTimesteps(30);
 * latents = scheduler.step(noisePred, t, latents, { generator: new TorchGenerator(42) }).prevSample;
 * ```
 */
export class EulerAncestralDiscreteScheduler extends SigmaSchedulerBase<EulerAncestralDiscreteSchedulerConfig> {
  readonly order = 1;

  constructor(config?: Readonly<Record<string, unknown>>, options?: SchedulerOptions) {
    super('EulerAncestralDiscreteScheduler', config, EULER_ANCESTRAL_DEFAULTS, { ...options, predictionTypes: ['epsilon', 'v_prediction'] });
    if (this.config.rescale_betas_zero_snr) this.useZeroTerminalSnrSigmas();
  }

  setTimesteps(numInferenceSteps: number, options?: SetTimestepsOptions): void {
    const n = this.checkedStepCount(numInferenceSteps, options);
    const { timesteps, sigmas } = this.interpolatedSchedule(n, true);
    this.sigmas = Float32Array.from([...sigmas, 0]);
    this.startSchedule(timesteps, n);
  }

  /**
   * x' = x + d·(σ_down − σ) + σ_up·z with d = (x − x̂₀)/σ,
   * σ_up = √(σ_next²(σ² − σ_next²)/σ²) and σ_down = √(σ_next² − σ_up²).
   */
  step(modelOutput: Tensor<Float32Array>, timestep: number, sample: Tensor<Float32Array>, options: StepOptions = {}): SchedulerStepOutput {
    const index = this.beginStep(modelOutput, timestep, sample);
    const generator = this.requireGenerator(options, 'adds fresh noise at every step (ancestral sampling)');
    const sigma = this.sigmas[index]!;
    const sigmaNext = this.sigmas[index + 1]!;
    const x = sample.data;
    const model = modelOutput.data;
    const size = x.length;
    const original = predictOriginalSampleFromSigma(this.config.prediction_type, sigma, model, x);
    const sigmaSquared = f32(sigma * sigma);
    const nextSquared = f32(sigmaNext * sigmaNext);
    const sigmaUp = f32(Math.sqrt(f32(f32(nextSquared * f32(sigmaSquared - nextSquared)) / sigmaSquared)));
    const sigmaDown = f32(Math.sqrt(f32(nextSquared - f32(sigmaUp * sigmaUp))));
    const dt = f32(sigmaDown - sigma);
    const noise = this.drawNoise(generator, sample.dims, size);
    const prev = new Float32Array(size);
    for (let i = 0; i < size; i++) {
      prev[i] = f32(x[i]! + f32(f32(f32(x[i]! - original[i]!) / sigma) * dt)) + f32(noise[i]! * sigmaUp);
    }
    this.stepIndex = index + 1;
    return { prevSample: createTensor(sample.dims, prev), predOriginalSample: createTensor(sample.dims, original) };
  }
}
