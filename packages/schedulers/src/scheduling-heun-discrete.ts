/**
 * Heun's method (2nd-order, trapezoidal) on the probability-flow ODE, diffusers'
 * `HeunDiscreteScheduler` (Karras et al. 2022, Algorithm 1): every interval takes an Euler
 * predictor and a corrector evaluation, so each timestep after the first appears twice.
 */
import { createTensor, type SchedulerStepOutput, type SetTimestepsOptions, type StepOptions, type Tensor } from '@latentkit/core';
import { clipInPlace } from './thresholding';
import type { SchedulerOptions } from './scheduler-base';
import { SIGMA_SCHEDULER_DEFAULTS, SigmaSchedulerBase, type SigmaSchedulerConfig } from './sigma-scheduler-base';
import { predictOriginalSampleFromSigma } from './prediction';

/** `HeunDiscreteScheduler`'s config (diffusers' keys and defaults, plus `use_exponential_sigmas`). */
export interface HeunDiscreteSchedulerConfig extends SigmaSchedulerConfig {
  use_karras_sigmas: boolean;
  use_exponential_sigmas: boolean;
  clip_sample: boolean;
  clip_sample_range: number;
}

/**
 * `HeunDiscreteScheduler`'s defaults (diffusers 0.25), used for every key a config leaves out.
 *
 * @example
 * ```ts
 * new HeunDiscreteScheduler({ ...HEUN_DISCRETE_DEFAULTS, beta_schedule: 'scaled_linear' });
 * ```
 */
export const HEUN_DISCRETE_DEFAULTS: HeunDiscreteSchedulerConfig = {
  ...SIGMA_SCHEDULER_DEFAULTS,
  beta_start: 0.00085,
  beta_end: 0.012,
  use_karras_sigmas: false,
  use_exponential_sigmas: false,
  clip_sample: false,
  clip_sample_range: 1.0,
};

const f32 = Math.fround;

/**
 * Heun sampler: two model evaluations per interval (`order` 2), 2n − 1 timesteps for n steps.
 *
 * @example
 * ```ts
 * const scheduler = new HeunDiscreteScheduler(unetSchedulerConfig);
 * scheduler.setTimesteps(20); // 39 model evaluations
 * ```
 */
export class HeunDiscreteScheduler extends SigmaSchedulerBase<HeunDiscreteSchedulerConfig> {
  readonly order = 2;
  /** Predictor state between the two evaluations of an interval. */
  private pending: { derivative: Float32Array; dt: number; sample: Float32Array } | undefined;

  constructor(config?: Readonly<Record<string, unknown>>, options?: SchedulerOptions) {
    super('HeunDiscreteScheduler', config, HEUN_DISCRETE_DEFAULTS, options);
  }

  setTimesteps(numInferenceSteps: number, options?: SetTimestepsOptions): void {
    const n = this.checkedStepCount(numInferenceSteps, options);
    const { timesteps, sigmas } = this.interpolatedSchedule(n, true);
    const all = [...sigmas.map(f32), 0];
    // [σ0, σ1, σ1, …, σ_{n−1}, σ_{n−1}, 0] and [t0, t1, t1, …, t_{n−1}, t_{n−1}].
    this.sigmas = Float32Array.from([all[0]!, ...all.slice(1, -1).flatMap((s) => [s, s]), 0]);
    this.startSchedule([timesteps[0]!, ...timesteps.slice(1).flatMap((t) => [t, t])], n);
    this.pending = undefined;
  }

  /** True between the predictor and the corrector evaluation of an interval. */
  get stateInFirstOrder(): boolean {
    return this.pending === undefined;
  }

  /**
   * Predictor: d = (x − x̂₀)/σ, x' = x + d·(σ_next − σ). Corrector at σ_next: d' from the new
   * evaluation, x_next = x + ½(d + d')·(σ_next − σ) (Karras et al. 2022, Algorithm 1, lines 5–11).
   */
  step(modelOutput: Tensor<Float32Array>, timestep: number, sample: Tensor<Float32Array>, _options?: StepOptions): SchedulerStepOutput {
    const index = this.beginStep(modelOutput, timestep, sample);
    const first = this.pending === undefined;
    const sigma = first ? this.sigmas[index]! : this.sigmas[index - 1]!;
    const sigmaNext = first ? this.sigmas[index + 1]! : this.sigmas[index]!;
    const sigmaInput = first ? sigma : sigmaNext;
    const x = sample.data;
    const model = modelOutput.data;
    const size = x.length;
    const original = predictOriginalSampleFromSigma(this.config.prediction_type, sigmaInput, model, x);
    if (this.config.clip_sample) clipInPlace(original, this.config.clip_sample_range);

    const prev = new Float32Array(size);
    if (first) {
      const derivative = this.reusable('derivative', size);
      for (let i = 0; i < size; i++) derivative[i] = f32(x[i]! - original[i]!) / sigma;
      const dt = f32(sigmaNext - sigma);
      for (let i = 0; i < size; i++) prev[i] = x[i]! + f32(derivative[i]! * dt);
      const start = this.reusable('interval start', size);
      start.set(x);
      this.pending = { derivative, dt, sample: start };
    } else {
      const { derivative: previous, dt, sample: start } = this.pending!;
      for (let i = 0; i < size; i++) {
        const corrected = f32(f32(x[i]! - original[i]!) / sigmaNext);
        prev[i] = start[i]! + f32(f32(f32(previous[i]! + corrected) / 2) * dt);
      }
      this.pending = undefined;
    }
    this.stepIndex = index + 1;
    return { prevSample: createTensor(sample.dims, prev), predOriginalSample: createTensor(sample.dims, original) };
  }
}
