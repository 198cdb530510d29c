/**
 * Shared machinery of the exponential-integrator solvers in λ = log(α/σ) (DPM-Solver, UniPC,
 * DEIS): their timesteps and σ schedule, α_t/σ_t of the VP process from σ, the conversion of the
 * model output to a data (x̂₀) or noise (ε̂) prediction, and the model-output history.
 */
import { InvalidArgumentError, type PredictionType, type Tensor } from '@latentkit/core';
import { SchedulerBase, type SchedulerConfig, type SchedulerOptions } from './scheduler-base';
import { checkSigmaSpacing, interpolateOnGrid, logFloat32, respacedSigmas, sigmaToTimestep, sigmasFromAlphasCumprod } from './sigmas';
import { NOISE_SCHEDULE_DEFAULTS } from './noise-schedule';
import { dynamicThresholdInPlace } from './thresholding';
import { checkSpacing, checkStepCount, roundHalfEven, solverTimesteps, type TimestepSpacing } from './timestep-spacing';

/** Config keys shared by DPM-Solver (multi- and single-step), UniPC and DEIS. */
export interface SolverSchedulerConfig extends SchedulerConfig {
  solver_order: number;
  thresholding: boolean;
  dynamic_thresholding_ratio: number;
  sample_max_value: number;
  lower_order_final: boolean;
  use_karras_sigmas: boolean;
  use_exponential_sigmas: boolean;
  timestep_spacing: TimestepSpacing;
  steps_offset: number;
}

/**
 * The defaults (diffusers 0.25) of the keys every λ-solver shares; each class's defaults spread
 * these and add their own keys.
 *
 * @example
 * ```ts
 * const MY_SOLVER_DEFAULTS = { ...SOLVER_SCHEDULER_DEFAULTS, algorithm_type: 'my-solver' };
 * ```
 */
export const SOLVER_SCHEDULER_DEFAULTS: Readonly<SolverSchedulerConfig> = Object.freeze({
  ...NOISE_SCHEDULE_DEFAULTS,
  solver_order: 2,
  prediction_type: 'epsilon',
  thresholding: false,
  dynamic_thresholding_ratio: 0.995,
  sample_max_value: 1.0,
  lower_order_final: true,
  use_karras_sigmas: false,
  use_exponential_sigmas: false,
  timestep_spacing: 'linspace',
  steps_offset: 0,
});

const f32 = Math.fround;

/** α_t, σ_t and λ_t = log α_t − log σ_t of the VP process at a given σ = σ_t/α_t, float32. */
export interface NoiseLevel {
  alpha: number;
  sigma: number;
  lambda: number;
}

/**
 * α = 1/√(σ² + 1), σ_t = σ·α (diffusers' `_sigma_to_alpha_sigma_t`), λ = log α − log σ_t.
 *
 * @example
 * ```ts
 * const { alpha, sigma, lambda } = noiseLevel(14.6146); // the VP view of SD's σ_max
 * ```
 */
export function noiseLevel(sigma: number): NoiseLevel {
  const alpha = f32(1 / f32(Math.sqrt(f32(f32(sigma * sigma) + 1))));
  const sigmaT = f32(sigma * alpha);
  return { alpha, sigma: sigmaT, lambda: f32(f32(Math.log(alpha)) - f32(Math.log(sigmaT))) };
}

/**
 * Base of the λ-solvers. Subclasses call {@link SolverSchedulerBase.buildSchedule} in
 * `setTimesteps` and convert outputs with {@link SolverSchedulerBase.toDataPrediction} /
 * {@link SolverSchedulerBase.toNoisePrediction}.
 *
 * @example
 * ```ts
 * class MySolver extends SolverSchedulerBase<MyConfig> { ... }
 * ```
 */
export abstract class SolverSchedulerBase<C extends SolverSchedulerConfig> extends SchedulerBase<C> {
  /** σ per schedule position, then the final σ. */
  protected sigmas: Float32Array<ArrayBufferLike> = new Float32Array(0);
  protected readonly trainingSigmas: Float32Array;
  /** Converted model outputs, oldest first; `undefined` until filled. Buffers are recycled. */
  protected history: (Float32Array | undefined)[] = [];
  protected lowerOrderCount = 0;

  protected constructor(
    className: string,
    given: Readonly<Record<string, unknown>> | undefined,
    defaults: C,
    options: SchedulerOptions & { predictionTypes?: readonly PredictionType[] } = {},
  ) {
    super(className, given, defaults, options);
    checkSpacing(className, this.config.timestep_spacing);
    checkSigmaSpacing(className, this.config);
    const order = this.config.solver_order;
    if (!Number.isInteger(order) || order < 1 || order > this.maxSolverOrder()) {
      throw new InvalidArgumentError({ name: `${className} config.solver_order`, expected: `an integer in [1, ${this.maxSolverOrder()}]`, actual: order });
    }
    this.trainingSigmas = sigmasFromAlphasCumprod(this.alphasCumprod);
  }

  /** The highest `solver_order` the class implements. */
  protected maxSolverOrder(): number {
    return 3;
  }

  /**
   * Timesteps and σ: n integer timesteps of the spacing with σ interpolated there and a final σ
   * of the first training step (σ_min), or Karras/exponential σ from σ_max down to σ_min with
   * timesteps mapped back (rounded) and the last σ repeated, as diffusers 0.25; or a final σ of 0
   * (`finalSigmaZero`, later diffusers' `final_sigmas_type: 'zero'`).
   */
  protected buildSchedule(numInferenceSteps: number, lastTimestep = this.config.num_train_timesteps, finalSigmaZero = false): void {
    const { num_train_timesteps: numTrain, timestep_spacing: spacing, steps_offset: offset } = this.config;
    const n = checkStepCount(this.className, numInferenceSteps, numTrain);
    let timesteps = solverTimesteps(spacing, n, numTrain, offset, lastTimestep);
    const respaced = respacedSigmas(this.config, this.trainingSigmas[0]!, this.trainingSigmas[numTrain - 1]!, n);
    let sigmas: number[];
    if (respaced) {
      const logSigmas = logFloat32(this.trainingSigmas);
      timesteps = respaced.map((s) => roundHalfEven(sigmaToTimestep(s, logSigmas)));
      sigmas = [...respaced, respaced[respaced.length - 1]!];
    } else {
      sigmas = [...timesteps.map((t) => interpolateOnGrid(t, this.trainingSigmas)), this.trainingSigmas[0]!];
    }
    if (finalSigmaZero) sigmas[sigmas.length - 1] = 0;
    this.sigmas = Float32Array.from(sigmas);
    this.startSchedule(timesteps, timesteps.length);
    this.history = new Array<Float32Array | undefined>(this.config.solver_order).fill(undefined);
    this.lowerOrderCount = 0;
  }

  /**
   * How many training steps have λ = log(α/σ) below `lambdaMinClipped` (diffusers' `lambda_min_clipped`):
   * cut from the schedule's end, for cosine schedules whose last steps have λ → −∞.
   */
  protected stepsBelowLambda(lambdaMinClipped: number | string): number {
    const minimum = Number(lambdaMinClipped);
    let count = 0;
    for (const sigma of this.trainingSigmas) if (noiseLevel(sigma).lambda < minimum) count++;
    return count;
  }

  /** Appends a converted output to the history, recycling the oldest buffer when it fits. */
  protected pushHistory(size: number): Float32Array {
    const oldest = this.history.shift();
    const buffer = oldest && oldest.length === size ? oldest : new Float32Array(size);
    this.history.push(buffer);
    return buffer;
  }

  /**
   * x̂₀ from the model output at σ (into `out`), with dynamic thresholding if configured:
   * ε: (x − σ_t ε̂)/α_t; v: α_t x − σ_t v̂; sample: the output.
   */
  protected toDataPrediction(modelOutput: Tensor<Float32Array>, sample: Float32Array, sigma: number, out: Float32Array): void {
    const { alpha, sigma: sigmaT } = noiseLevel(sigma);
    const model = modelOutput.data;
    if (this.config.prediction_type === 'epsilon') {
      for (let i = 0; i < out.length; i++) out[i] = f32(sample[i]! - f32(sigmaT * model[i]!)) / alpha;
    } else if (this.config.prediction_type === 'v_prediction') {
      for (let i = 0; i < out.length; i++) out[i] = f32(alpha * sample[i]!) - f32(sigmaT * model[i]!);
    } else {
      out.set(model);
    }
    if (this.config.thresholding) dynamicThresholdInPlace(out, modelOutput.dims[0]!, this.config.dynamic_thresholding_ratio, this.config.sample_max_value);
  }

  /** ε̂ from the model output at σ (into `out`); with thresholding, via a thresholded x̂₀. */
  protected toNoisePrediction(modelOutput: Tensor<Float32Array>, sample: Float32Array, sigma: number, out: Float32Array): void {
    const { alpha, sigma: sigmaT } = noiseLevel(sigma);
    const model = modelOutput.data;
    if (this.config.prediction_type === 'epsilon') out.set(model);
    else if (this.config.prediction_type === 'v_prediction') {
      for (let i = 0; i < out.length; i++) out[i] = f32(alpha * model[i]!) + f32(sigmaT * sample[i]!);
    } else {
      for (let i = 0; i < out.length; i++) out[i] = f32(sample[i]! - f32(alpha * model[i]!)) / sigmaT;
    }
    if (this.config.thresholding) {
      for (let i = 0; i < out.length; i++) out[i] = f32(sample[i]! - f32(sigmaT * out[i]!)) / alpha;
      dynamicThresholdInPlace(out, modelOutput.dims[0]!, this.config.dynamic_thresholding_ratio, this.config.sample_max_value);
      for (let i = 0; i < out.length; i++) out[i] = f32(sample[i]! - f32(alpha * out[i]!)) / sigmaT;
    }
  }
}
