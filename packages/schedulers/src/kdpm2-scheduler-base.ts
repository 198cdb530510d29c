/**
 * What the two KDPM2 samplers share (diffusers' `KDPM2DiscreteScheduler` and
 * `KDPM2AncestralDiscreteScheduler`): the interleaved schedule of main and midpoint timesteps,
 * and the two halves of an interval — an Euler step to the midpoint σ, then a step from the
 * interval's start with the derivative evaluated at the midpoint (Lu et al. 2022, Algorithm 1
 * with k-diffusion's log-σ midpoint).
 */
import { createTensor, type SchedulerStepOutput, type SetTimestepsOptions, type Tensor } from '@latentkit/core';
import { interleaveRepeat } from './kdpm2-sigmas';
import { predictOriginalSampleFromSigma } from './prediction';
import type { SchedulerOptions } from './scheduler-base';
import { SigmaSchedulerBase, type SigmaSchedulerConfig } from './sigma-scheduler-base';
import { sigmaToTimestep } from './sigmas';

/** The config of both KDPM2 samplers (diffusers' keys, plus `use_exponential_sigmas`). */
export interface KDPM2SchedulerConfig extends SigmaSchedulerConfig {
  use_karras_sigmas: boolean;
  use_exponential_sigmas: boolean;
}

const f32 = Math.fround;

/** The σ of one step of an interval. */
export interface IntervalSigmas {
  /** σ at the interval's start. */
  sigma: number;
  sigmaMidpoint: number;
  /** Where the second half lands (σ_next, or σ_down for the ancestral sampler). */
  target: number;
}

/**
 * The base of the KDPM2 samplers (`order` 2: the midpoint timesteps interleave the main ones).
 *
 * @example
 * ```ts
 * class MyKDPM2 extends KDPM2SchedulerBase { protected midpointsOf(main) { ... } step(...) { ... } }
 * ```
 */
export abstract class KDPM2SchedulerBase extends SigmaSchedulerBase<KDPM2SchedulerConfig> {
  readonly order = 2;
  protected sigmasMidpoint: Float32Array<ArrayBufferLike> = new Float32Array(0);
  /** The sample at the start of the interval, between the two evaluations. */
  protected intervalStart: Float32Array | undefined;

  protected constructor(className: string, config: Readonly<Record<string, unknown>> | undefined, defaults: KDPM2SchedulerConfig, options?: SchedulerOptions) {
    super(className, config, defaults, { ...options, predictionTypes: ['epsilon', 'v_prediction'] });
  }

  /**
   * The midpoint σ of each main σ (`main` ends with 0), and `timestepOffset`: main timestep i + 1
   * is preceded by the timestep of midpoint i + offset.
   */
  protected abstract midpointsOf(main: Float32Array): { midpoints: Float32Array; timestepOffset: 0 | 1 };

  setTimesteps(numInferenceSteps: number, options?: SetTimestepsOptions): void {
    const n = this.checkedStepCount(numInferenceSteps, options);
    const { timesteps, sigmas } = this.interpolatedSchedule(n, true, undefined, true);
    const main = Float32Array.from([...sigmas, 0]);
    const { midpoints, timestepOffset } = this.midpointsOf(main);
    this.sigmas = interleaveRepeat(main);
    this.sigmasMidpoint = interleaveRepeat(midpoints);
    const midpointTimesteps = [...midpoints].map((s) => f32(sigmaToTimestep(s, this.logSigmas)));
    this.startSchedule([timesteps[0]!, ...timesteps.slice(1).flatMap((t, i) => [midpointTimesteps[i + timestepOffset]!, t])], n);
    this.intervalStart = undefined;
  }

  /** True before the midpoint evaluation of an interval. */
  get stateInFirstOrder(): boolean {
    return this.intervalStart === undefined;
  }

  /**
   * First call: x_mid = x + d·(σ_mid − σ) with d = (x − x̂₀)/σ, remembering x. Second call (the
   * model evaluated at σ_mid): x_start + d_mid·(target − σ), plus `noise`·σ_up when given.
   */
  protected intervalStep(
    modelOutput: Tensor<Float32Array>,
    sample: Tensor<Float32Array>,
    { sigma, sigmaMidpoint, target }: IntervalSigmas,
    noise?: { values: Float32Array; scale: number },
  ): SchedulerStepOutput {
    const first = this.intervalStart === undefined;
    const x = sample.data;
    const size = x.length;
    const original = predictOriginalSampleFromSigma(this.config.prediction_type, first ? sigma : sigmaMidpoint, modelOutput.data, x);
    const prev = new Float32Array(size);
    if (first) {
      const dt = f32(sigmaMidpoint - sigma);
      for (let i = 0; i < size; i++) prev[i] = x[i]! + f32(f32(f32(x[i]! - original[i]!) / sigma) * dt);
      this.intervalStart = this.reusable('interval start', size);
      this.intervalStart.set(x);
    } else {
      const dt = f32(target - sigma);
      const start = this.intervalStart!;
      for (let i = 0; i < size; i++) {
        const next = f32(start[i]! + f32(f32(f32(x[i]! - original[i]!) / sigmaMidpoint) * dt));
        prev[i] = noise ? next + f32(noise.values[i]! * noise.scale) : next;
      }
      this.intervalStart = undefined;
    }
    return { prevSample: createTensor(sample.dims, prev), predOriginalSample: createTensor(sample.dims, original) };
  }
}
