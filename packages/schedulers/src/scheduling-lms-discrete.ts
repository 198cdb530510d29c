/**
 * Linear multistep (Adams–Bashforth) sampling on the probability-flow ODE in σ, diffusers'
 * `LMSDiscreteScheduler` (k-diffusion's `sample_lms`): the step integrates the Lagrange
 * polynomial through the last `order` derivatives over [σ_i, σ_{i+1}].
 */
import { createTensor, type SchedulerStepOutput, type SetTimestepsOptions, type StepOptions, type Tensor } from '@latentkit/core';
import type { SchedulerOptions } from './scheduler-base';
import { SIGMA_SCHEDULER_DEFAULTS, SigmaSchedulerBase, type SigmaSchedulerConfig } from './sigma-scheduler-base';
import { predictOriginalSampleFromSigma } from './prediction';

/** `LMSDiscreteScheduler`'s config (diffusers' keys and defaults, plus `use_exponential_sigmas`). */
export interface LMSDiscreteSchedulerConfig extends SigmaSchedulerConfig {
  use_karras_sigmas: boolean;
  use_exponential_sigmas: boolean;
}

/**
 * `LMSDiscreteScheduler`'s defaults (diffusers 0.25), used for every key a config leaves out.
 *
 * @example
 * ```ts
 * new LMSDiscreteScheduler({ ...LMS_DISCRETE_DEFAULTS, beta_schedule: 'scaled_linear' });
 * ```
 */
export const LMS_DISCRETE_DEFAULTS: LMSDiscreteSchedulerConfig = {
  ...SIGMA_SCHEDULER_DEFAULTS,
  use_karras_sigmas: false,
  use_exponential_sigmas: false,
};

/** The multistep order of diffusers' default `step(order=4)`. */
const LMS_ORDER = 4;
const f32 = Math.fround;
/** 3-point Gauss–Legendre nodes and weights on [−1, 1]: exact for the cubic Lagrange bases. */
const GAUSS_NODES = [-Math.sqrt(3 / 5), 0, Math.sqrt(3 / 5)];
const GAUSS_WEIGHTS = [5 / 9, 8 / 9, 5 / 9];

/**
 * LMS sampler ("LMS" in A1111).
 *
 * @example
 * ```ts
 * const scheduler = new LMSDiscreteScheduler(unetSchedulerConfig);
 * scheduler.setTimesteps(50);
 * ```
 */
export class LMSDiscreteScheduler extends SigmaSchedulerBase<LMSDiscreteSchedulerConfig> {
  readonly order = 1;
  /** Past derivatives (x − x̂₀)/σ, newest last. */
  private derivatives: Float32Array[] = [];

  constructor(config?: Readonly<Record<string, unknown>>, options?: SchedulerOptions) {
    super('LMSDiscreteScheduler', config, LMS_DISCRETE_DEFAULTS, options);
  }

  setTimesteps(numInferenceSteps: number, options?: SetTimestepsOptions): void {
    const n = this.checkedStepCount(numInferenceSteps, options);
    const { timesteps, sigmas } = this.interpolatedSchedule(n, false);
    this.sigmas = Float32Array.from([...sigmas, 0]);
    this.startSchedule(timesteps.map(f32), n);
    this.derivatives = [];
  }

  /**
   * ∫_{σ_i}^{σ_{i+1}} ℓ_j(τ) dτ for the Lagrange basis ℓ_j through σ_i, σ_{i−1}, …: the weight of the
   * j-th newest derivative. The basis has degree < 4, so 3-point Gauss–Legendre is exact.
   */
  private coefficient(order: number, index: number, current: number): number {
    const basis = (tau: number): number => {
      let product = 1;
      for (let k = 0; k < order; k++) {
        if (k === current) continue;
        product *= (tau - this.sigmas[index - k]!) / (this.sigmas[index - current]! - this.sigmas[index - k]!);
      }
      return product;
    };
    const from = this.sigmas[index]!;
    const to = this.sigmas[index + 1]!;
    const half = (to - from) / 2;
    const middle = (to + from) / 2;
    let integral = 0;
    for (let q = 0; q < 3; q++) integral += GAUSS_WEIGHTS[q]! * basis(middle + half * GAUSS_NODES[q]!);
    return integral * half;
  }

  /** x_{i+1} = x_i + Σ_j c_j·d_{i−j} with the integrated Lagrange weights c_j. */
  step(modelOutput: Tensor<Float32Array>, timestep: number, sample: Tensor<Float32Array>, _options?: StepOptions): SchedulerStepOutput {
    const index = this.beginStep(modelOutput, timestep, sample);
    const sigma = this.sigmas[index]!;
    const x = sample.data;
    const model = modelOutput.data;
    const size = x.length;
    const original = predictOriginalSampleFromSigma(this.config.prediction_type, sigma, model, x);
    // Reuse the oldest derivative's buffer once the history is full.
    const oldest = this.derivatives.length >= LMS_ORDER ? this.derivatives.shift() : undefined;
    const derivative = oldest?.length === size ? oldest : new Float32Array(size);
    for (let i = 0; i < size; i++) derivative[i] = f32(x[i]! - original[i]!) / sigma;
    this.derivatives.push(derivative);
    const order = Math.min(index + 1, LMS_ORDER, this.derivatives.length);
    // Σ_j c_j·d_j is summed first, then added to x, in diffusers' order.
    const prev = new Float32Array(size);
    for (let j = 0; j < order; j++) {
      const c = f32(this.coefficient(order, index, j));
      const d = this.derivatives[this.derivatives.length - 1 - j]!;
      for (let i = 0; i < size; i++) prev[i] = prev[i]! + f32(c * d[i]!);
    }
    for (let i = 0; i < size; i++) prev[i] = x[i]! + prev[i]!;
    this.stepIndex = index + 1;
    return { prevSample: createTensor(sample.dims, prev), predOriginalSample: createTensor(sample.dims, original) };
  }
}
