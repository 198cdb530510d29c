/**
 * Euler's method on the probability-flow ODE dx/dσ = (x − x̂₀)/σ (Karras et al. 2022, Algorithm 2
 * with optional churn), diffusers' `EulerDiscreteScheduler`.
 */
import { createTensor, type SchedulerStepOutput, type SetTimestepsOptions, type StepOptions, type Tensor } from '@latentkit/core';
import type { SchedulerOptions } from './scheduler-base';
import { SIGMA_SCHEDULER_DEFAULTS, SigmaSchedulerBase, type SigmaSchedulerConfig } from './sigma-scheduler-base';
import { predictOriginalSampleFromSigma } from './prediction';

/** `EulerDiscreteScheduler`'s config (diffusers' keys and defaults, plus `use_exponential_sigmas`). */
export interface EulerDiscreteSchedulerConfig extends SigmaSchedulerConfig {
  interpolation_type: 'linear';
  use_karras_sigmas: boolean;
  use_exponential_sigmas: boolean;
  sigma_min: number | null;
  sigma_max: number | null;
  timestep_type: 'discrete' | 'continuous';
  rescale_betas_zero_snr: boolean;
}

/**
 * `EulerDiscreteScheduler`'s defaults (diffusers 0.25), used for every key a config leaves out.
 *
 * @example
 * ```ts
 * new EulerDiscreteScheduler({ ...EULER_DISCRETE_DEFAULTS, beta_schedule: 'scaled_linear' });
 * ```
 */
export const EULER_DISCRETE_DEFAULTS: EulerDiscreteSchedulerConfig = {
  ...SIGMA_SCHEDULER_DEFAULTS,
  interpolation_type: 'linear',
  use_karras_sigmas: false,
  use_exponential_sigmas: false,
  sigma_min: null,
  sigma_max: null,
  timestep_type: 'discrete',
  rescale_betas_zero_snr: false,
};

/** Step options of the Euler sampler: Karras et al.'s stochastic churn (Algorithm 2). */
export interface EulerStepOptions extends StepOptions {
  /** S_churn: the total noise added over the run (0 = deterministic, default). */
  sChurn?: number;
  /** Churn only where S_tmin ≤ σ ≤ S_tmax. */
  sTmin?: number;
  sTmax?: number;
  /** S_noise: scale of the churn noise (default 1). */
  sNoise?: number;
}

const f32 = Math.fround;

/**
 * Euler sampler ("Euler" in A1111/ComfyUI).
 *
 * @example
 * ```ts
 * const scheduler = new EulerDiscreteScheduler({ beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012 });
 * scheduler.setTimesteps(30);
 * let latents = initialNoise.map((x) => x * scheduler.initNoiseSigma);
 * ```
 */
export class EulerDiscreteScheduler extends SigmaSchedulerBase<EulerDiscreteSchedulerConfig> {
  readonly order = 1;

  constructor(config?: Readonly<Record<string, unknown>>, options?: SchedulerOptions) {
    super('EulerDiscreteScheduler', config, EULER_DISCRETE_DEFAULTS, options);
    if (this.config.interpolation_type !== 'linear') this.refuse('interpolation_type', this.config.interpolation_type, "'linear'");
    if (this.config.rescale_betas_zero_snr) this.useZeroTerminalSnrSigmas();
  }

  setTimesteps(numInferenceSteps: number, options?: SetTimestepsOptions): void {
    const n = this.checkedStepCount(numInferenceSteps, options);
    const { timesteps, sigmas } = this.interpolatedSchedule(n, true, this.config);
    this.sigmas = Float32Array.from([...sigmas, 0]);
    this.startSchedule(
      this.config.timestep_type === 'continuous' && this.config.prediction_type === 'v_prediction'
        ? sigmas.map((s) => f32(0.25 * Math.log(f32(s)))) // EDM's c_noise = ¼·ln σ
        : timesteps.map(f32),
      n,
    );
  }

  /**
   * One Euler step from σ̂ = σ(1 + γ) to the next σ: x̂₀ from the model, d = (x − x̂₀)/σ̂,
   * x' = x + d·(σ_next − σ̂) (Karras et al. 2022, Algorithm 2, lines 5–8).
   */
  step(modelOutput: Tensor<Float32Array>, timestep: number, sample: Tensor<Float32Array>, options: EulerStepOptions = {}): SchedulerStepOutput {
    const index = this.beginStep(modelOutput, timestep, sample);
    const { sChurn = 0, sTmin = 0, sTmax = Infinity, sNoise = 1 } = options;
    const sigma = this.sigmas[index]!;
    const gamma = sTmin <= sigma && sigma <= sTmax ? Math.min(sChurn / (this.sigmas.length - 1), 2 ** 0.5 - 1) : 0;
    const size = sample.data.length;
    let x = sample.data;
    // diffusers draws this noise at every step, used or not; drawing it whenever a generator is
    // given keeps a shared generator's stream in step with diffusers.
    const noise = gamma > 0 || options.generator ? this.drawNoise(this.requireGenerator(options, 'draws churn noise when sChurn > 0'), sample.dims, size) : undefined;
    const sigmaHat = f32(sigma * f32(gamma + 1));
    if (gamma > 0) {
      const churn = f32(Math.sqrt(f32(f32(sigmaHat * sigmaHat) - f32(sigma * sigma))));
      const noisy = new Float32Array(size);
      for (let i = 0; i < size; i++) noisy[i] = x[i]! + f32(f32(noise![i]! * f32(sNoise)) * churn);
      x = noisy;
    }
    const original = predictOriginalSampleFromSigma(this.config.prediction_type, sigma, modelOutput.data, x, sigmaHat);
    const dt = f32(this.sigmas[index + 1]! - sigmaHat);
    const prev = new Float32Array(size);
    for (let i = 0; i < size; i++) prev[i] = x[i]! + f32(f32(f32(x[i]! - original[i]!) / sigmaHat) * dt);
    this.stepIndex = index + 1;
    return { prevSample: createTensor(sample.dims, prev), predOriginalSample: createTensor(sample.dims, original) };
  }
}
