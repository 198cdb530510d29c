/**
 * DPM-Solver-2 in σ (Lu et al. 2022, Algorithm 1 with k-diffusion's log-σ midpoint), diffusers'
 * `KDPM2DiscreteScheduler` ("DPM2"): an Euler step to the midpoint σ_mid = √(σ·σ_next), a model
 * evaluation there, and the full step with the midpoint derivative.
 */
import type { SchedulerStepOutput, StepOptions, Tensor } from '@latentkit/core';
import { KDPM2SchedulerBase, type KDPM2SchedulerConfig } from './kdpm2-scheduler-base';
import { logMidpoints } from './kdpm2-sigmas';
import type { SchedulerOptions } from './scheduler-base';
import { SIGMA_SCHEDULER_DEFAULTS } from './sigma-scheduler-base';

/** `KDPM2DiscreteScheduler`'s config (diffusers' keys and defaults, plus `use_exponential_sigmas`). */
export type KDPM2DiscreteSchedulerConfig = KDPM2SchedulerConfig;

/**
 * `KDPM2DiscreteScheduler`'s defaults (diffusers 0.25), used for every key a config leaves out.
 *
 * @example
 * ```ts
 * new KDPM2DiscreteScheduler({ ...KDPM2_DISCRETE_DEFAULTS, beta_schedule: 'scaled_linear' });
 * ```
 */
export const KDPM2_DISCRETE_DEFAULTS: KDPM2DiscreteSchedulerConfig = {
  ...SIGMA_SCHEDULER_DEFAULTS,
  beta_start: 0.00085,
  beta_end: 0.012,
  use_karras_sigmas: false,
  use_exponential_sigmas: false,
};

/**
 * KDPM2 sampler (`order` 2: the midpoint timesteps interleave the main ones).
 *
 * @example
 * ```ts
 * const scheduler = new KDPM2DiscreteScheduler(unetSchedulerConfig);
 * scheduler.setTimesteps(20);
 * ```
 */
export class KDPM2DiscreteScheduler extends KDPM2SchedulerBase {
  constructor(config?: Readonly<Record<string, unknown>>, options?: SchedulerOptions) {
    super('KDPM2DiscreteScheduler', config, KDPM2_DISCRETE_DEFAULTS, options);
  }

  /** σ_mid,i = √(σ_i·σ_{i−1}) (log-space midpoint with the previous σ; the first is NaN, unused). */
  protected midpointsOf(main: Float32Array): { midpoints: Float32Array; timestepOffset: 1 } {
    const rolled = Float32Array.from([main[main.length - 1]!, ...main.subarray(0, -1)]);
    return { midpoints: logMidpoints(main, rolled), timestepOffset: 1 };
  }

  protected override sigmaForInput(index: number): number {
    return this.intervalStart === undefined ? this.sigmas[index]! : this.sigmasMidpoint[index]!;
  }

  /**
   * First call: x_mid = x + d·(σ_mid − σ) with d = (x − x̂₀)/σ. Second call (at σ_mid):
   * x_next = x + d_mid·(σ_next − σ) with d_mid from the midpoint evaluation.
   */
  step(modelOutput: Tensor<Float32Array>, timestep: number, sample: Tensor<Float32Array>, _options?: StepOptions): SchedulerStepOutput {
    const index = this.beginStep(modelOutput, timestep, sample);
    const first = this.intervalStart === undefined;
    const sigmas = first
      ? { sigma: this.sigmas[index]!, sigmaMidpoint: this.sigmasMidpoint[index + 1]!, target: this.sigmas[index + 1]! }
      : { sigma: this.sigmas[index - 1]!, sigmaMidpoint: this.sigmasMidpoint[index]!, target: this.sigmas[index]! };
    const result = this.intervalStep(modelOutput, sample, sigmas);
    this.stepIndex = index + 1;
    return result;
  }
}
