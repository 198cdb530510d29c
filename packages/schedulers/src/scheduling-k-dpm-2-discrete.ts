/**
 * DPM-Solver-2 in σ (Lu et al. 2022, Algorithm 1 with k-diffusion's log-σ midpoint), diffusers'
 * `KDPM2DiscreteScheduler` ("DPM2"): an Euler step to the midpoint σ_mid = √(σ·σ_next), a model
 * evaluation there, and the full step with the midpoint derivative.
 */
import { createTensor, type SchedulerStepOutput, type SetTimestepsOptions, type StepOptions, type Tensor } from '@latentkit/core';
import { interleaveRepeat, logMidpoints } from './kdpm2-sigmas';
import type { SchedulerOptions } from './scheduler-base';
import { SigmaSchedulerBase, type SigmaSchedulerConfig } from './sigma-scheduler-base';
import { sigmaToTimestep } from './sigmas';
import { checkStepCount } from './timestep-spacing';
import { predictOriginalSampleFromSigma } from './prediction';

/** `KDPM2DiscreteScheduler`'s config (diffusers' keys and defaults, plus `use_exponential_sigmas`). */
export interface KDPM2DiscreteSchedulerConfig extends SigmaSchedulerConfig {
  use_karras_sigmas: boolean;
  use_exponential_sigmas: boolean;
}

/**
 * `KDPM2DiscreteScheduler`'s defaults (diffusers 0.25), used for every key a config leaves out.
 *
 * @example
 * ```ts
 * new KDPM2DiscreteScheduler({ ...KDPM2_DISCRETE_DEFAULTS, beta_schedule: 'scaled_linear' });
 * ```
 */
export const KDPM2_DISCRETE_DEFAULTS: KDPM2DiscreteSchedulerConfig = {
  num_train_timesteps: 1000,
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: 'linear',
  trained_betas: null,
  use_karras_sigmas: false,
  use_exponential_sigmas: false,
  prediction_type: 'epsilon',
  timestep_spacing: 'linspace',
  steps_offset: 0,
};

const f32 = Math.fround;

/**
 * KDPM2 sampler (`order` 2: the midpoint timesteps interleave the main ones).
 *
 * @example
 * ```ts
 * const scheduler = new KDPM2DiscreteScheduler(unetSchedulerConfig);
 * scheduler.setTimesteps(20);
 * ```
 */
export class KDPM2DiscreteScheduler extends SigmaSchedulerBase<KDPM2DiscreteSchedulerConfig> {
  readonly order = 2;
  private sigmasMidpoint: Float32Array<ArrayBufferLike> = new Float32Array(0);
  /** The sample at the start of the interval, between the two evaluations. */
  private intervalStart: Float32Array | undefined;

  constructor(config?: Readonly<Record<string, unknown>>, options?: SchedulerOptions) {
    super('KDPM2DiscreteScheduler', config, KDPM2_DISCRETE_DEFAULTS, { ...options, predictionTypes: ['epsilon', 'v_prediction'] });
  }

  setTimesteps(numInferenceSteps: number, options?: SetTimestepsOptions): void {
    this.refuseCustomSchedule(options);
    const n = checkStepCount(this.className, numInferenceSteps, this.config.num_train_timesteps);
    const { timesteps, sigmas } = this.interpolatedSchedule(n, true, undefined, true);
    const main = Float32Array.from([...sigmas, 0]);
    // σ_mid,i = √(σ_i·σ_{i−1}) (log-space midpoint with the previous σ; the first is NaN, unused).
    const rolled = Float32Array.from([main[main.length - 1]!, ...main.subarray(0, -1)]);
    const midpoints = logMidpoints(main, rolled);
    this.sigmas = interleaveRepeat(main);
    this.sigmasMidpoint = interleaveRepeat(midpoints);
    const midpointTimesteps = [...midpoints].map((s) => f32(sigmaToTimestep(s, this.logSigmas)));
    this.schedule = Object.freeze([timesteps[0]!, ...timesteps.slice(1).flatMap((t, i) => [midpointTimesteps[i + 1]!, t])]);
    this.numInferenceSteps = n;
    this.intervalStart = undefined;
    this.stepIndex = undefined;
    this.beginIndex = undefined;
  }

  /** True before the midpoint evaluation of an interval. */
  get stateInFirstOrder(): boolean {
    return this.intervalStart === undefined;
  }

  protected override sigmaForInput(index: number): number {
    return this.intervalStart === undefined ? this.sigmas[index]! : this.sigmasMidpoint[index]!;
  }

  /**
   * First call: x_mid = x + d·(σ_mid − σ) with d = (x − x̂₀)/σ. Second call (at σ_mid):
   * x_next = x + d_mid·(σ_next − σ) with d_mid from the midpoint evaluation.
   */
  step(modelOutput: Tensor<Float32Array>, timestep: number, sample: Tensor<Float32Array>, _options?: StepOptions): SchedulerStepOutput {
    this.requireTimesteps('step');
    const index = this.currentStepIndex(timestep);
    this.checkStepInputs(modelOutput, sample);
    const first = this.intervalStart === undefined;
    const sigma = first ? this.sigmas[index]! : this.sigmas[index - 1]!;
    const sigmaMidpoint = first ? this.sigmasMidpoint[index + 1]! : this.sigmasMidpoint[index]!;
    const sigmaNext = first ? this.sigmas[index + 1]! : this.sigmas[index]!;
    const sigmaInput = first ? sigma : sigmaMidpoint;
    const x = sample.data;
    const model = modelOutput.data;
    const size = x.length;
    const original = predictOriginalSampleFromSigma(this.config.prediction_type, sigmaInput, model, x);
    const prev = new Float32Array(size);
    if (first) {
      const dt = f32(sigmaMidpoint - sigma);
      for (let i = 0; i < size; i++) prev[i] = x[i]! + f32(f32(f32(x[i]! - original[i]!) / sigma) * dt);
      this.intervalStart = this.reusable('interval start', size);
      this.intervalStart.set(x);
    } else {
      const dt = f32(sigmaNext - sigma);
      const start = this.intervalStart!;
      for (let i = 0; i < size; i++) prev[i] = start[i]! + f32(f32(f32(x[i]! - original[i]!) / sigmaMidpoint) * dt);
      this.intervalStart = undefined;
    }
    this.stepIndex = index + 1;
    return { prevSample: createTensor(sample.dims, prev), predOriginalSample: createTensor(sample.dims, original) };
  }
}
