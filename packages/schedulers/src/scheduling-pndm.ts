/**
 * PNDM: pseudo numerical methods for diffusion models (Liu, Ren, Lin & Zhao 2022), diffusers'
 * `PNDMScheduler`: a Runge–Kutta warm-up (PRK, three 4-evaluation steps) followed by the linear
 * multistep method (PLMS); with `skip_prk_steps` the warm-up is replaced by lower-order PLMS.
 */
import { InvalidArgumentError, createTensor, type SchedulerStepOutput, type StepOptions, type Tensor, type SetTimestepsOptions } from '@latentkit/core';
import { NOISE_SCHEDULE_DEFAULTS } from './noise-schedule';
import { SchedulerBase, type SchedulerConfig, type SchedulerOptions } from './scheduler-base';
import { checkSpacing, numpyArange, numpyLinspace, roundHalfEven, type TimestepSpacing } from './timestep-spacing';

/** `PNDMScheduler`'s config (diffusers' keys and defaults). */
export interface PNDMSchedulerConfig extends SchedulerConfig {
  skip_prk_steps: boolean;
  set_alpha_to_one: boolean;
  timestep_spacing: TimestepSpacing;
  steps_offset: number;
}

/**
 * `PNDMScheduler`'s defaults (diffusers 0.25), used for every key a config leaves out.
 *
 * @example
 * ```ts
 * new PNDMScheduler({ ...PNDM_DEFAULTS, beta_schedule: 'scaled_linear' });
 * ```
 */
export const PNDM_DEFAULTS: PNDMSchedulerConfig = {
  ...NOISE_SCHEDULE_DEFAULTS,
  skip_prk_steps: false,
  set_alpha_to_one: false,
  prediction_type: 'epsilon',
  timestep_spacing: 'leading',
  steps_offset: 0,
};

const f32 = Math.fround;
/** The number of past ε kept by the 4th-order linear multistep formula. */
const PNDM_ORDER = 4;

/**
 * PNDM sampler (PRK warm-up then PLMS). Stateful: call the steps in order after `setTimesteps`.
 *
 * @example
 * ```ts
 * const scheduler = new PNDMScheduler({ skip_prk_steps: true, beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012, steps_offset: 1 });
 * scheduler.setTimesteps(50); // 51 timesteps: PLMS repeats the second one
 * ```
 */
export class PNDMScheduler extends SchedulerBase<PNDMSchedulerConfig> {
  readonly order = 1;
  private prkTimesteps: number[] = [];
  private counter = 0;
  /** Past ε (newest last), at most four. */
  private history: Float32Array[] = [];
  private runningModelOutput: Float64Array | undefined;
  private savedSample: Float32Array | undefined;

  constructor(config?: Readonly<Record<string, unknown>>, options?: SchedulerOptions) {
    super('PNDMScheduler', config, PNDM_DEFAULTS, { ...options, predictionTypes: ['epsilon', 'v_prediction'] });
    checkSpacing(this.className, this.config.timestep_spacing);
  }

  setTimesteps(numInferenceSteps: number, options?: SetTimestepsOptions): void {
    const n = this.checkedStepCount(numInferenceSteps, options);
    const { num_train_timesteps: numTrain, timestep_spacing: spacing, steps_offset: offset } = this.config;
    let base: number[]; // ascending
    if (spacing === 'linspace') base = numpyLinspace(0, numTrain - 1, n).map(roundHalfEven);
    else if (spacing === 'leading') base = Array.from({ length: n }, (_, i) => i * Math.floor(numTrain / n) + offset);
    else base = numpyArange(numTrain, 0, -numTrain / n).map(roundHalfEven).reverse().map((t) => t - 1);
    let plms: number[];
    if (this.config.skip_prk_steps) {
      // PLMS alone repeats the second-to-last base timestep (Liu et al. 2022, Algorithm 2 warm-up).
      this.prkTimesteps = [];
      // numpy's slices (`[:-1]`, `[-2:-1]`, `[-1:]`), so that one step gives [t] as in diffusers, not [t, undefined].
      plms = [...base.slice(0, -1), ...base.slice(-2, -1), ...base.slice(-1)].reverse();
    } else {
      if (n < PNDM_ORDER) {
        throw new InvalidArgumentError({
          name: 'PNDMScheduler.setTimesteps(numInferenceSteps)',
          expected: `at least ${PNDM_ORDER} steps with the Runge–Kutta warm-up`,
          actual: n,
          hint: 'use more steps or skip_prk_steps: true',
        });
      }
      // Each of the last four base timesteps and its half-step midpoint, every RK stage twice.
      const half = Math.floor(Math.floor(numTrain / n) / 2);
      const pairs = base.slice(-PNDM_ORDER).flatMap((t) => [t, t + half]);
      const doubled = pairs.slice(0, -1).flatMap((t) => [t, t]);
      this.prkTimesteps = doubled.slice(1, -1).reverse();
      plms = base.slice(0, -3).reverse();
    }
    this.numInferenceSteps = n;
    this.schedule = Object.freeze([...this.prkTimesteps, ...plms]);
    this.counter = 0;
    this.history = [];
    this.runningModelOutput = undefined;
    this.savedSample = undefined;
    this.stepIndex = undefined;
    this.beginIndex = undefined;
  }

  step(modelOutput: Tensor<Float32Array>, timestep: number, sample: Tensor<Float32Array>, _options?: StepOptions): SchedulerStepOutput {
    this.checkStep(modelOutput, timestep, sample);
    if (this.history.length > 0 && this.history[0]!.length !== sample.data.length) {
      throw new InvalidArgumentError({ name: 'sample', expected: 'the shape of the previous steps', actual: sample.dims, hint: 'call setTimesteps() before a new run' });
    }
    const prev = this.counter < this.prkTimesteps.length ? this.stepRungeKutta(modelOutput.data, timestep, sample.data) : this.stepLinearMultistep(modelOutput.data, timestep, sample.data);
    this.counter++;
    return { prevSample: createTensor(sample.dims, prev) };
  }

  /** One of the four stages of a pseudo Runge–Kutta step (Liu et al. 2022, eq. 13). */
  private stepRungeKutta(model: Float32Array, timestep: number, sample: Float32Array): Float32Array {
    const stride = Math.floor(this.config.num_train_timesteps / this.numInferenceSteps!);
    const previous = timestep - (this.counter % 2 ? 0 : Math.floor(stride / 2));
    const stageTimestep = this.prkTimesteps[Math.floor(this.counter / 4) * 4]!;
    const stage = this.counter % 4;
    let epsilon: Float32Array = model;
    if (stage === 0) {
      this.runningModelOutput = Float64Array.from(model, (m) => f32(m * f32(1 / 6)));
      this.history.push(Float32Array.from(model));
      this.savedSample = this.reusable('saved sample', sample.length);
      this.savedSample.set(sample);
    } else if (stage === 1 || stage === 2) {
      const running = this.runningModelOutput!;
      for (let i = 0; i < model.length; i++) running[i] = f32(running[i]! + f32(f32(1 / 3) * model[i]!));
    } else {
      const running = this.runningModelOutput!;
      epsilon = this.reusable('combined output', model.length);
      for (let i = 0; i < model.length; i++) epsilon[i] = running[i]! + f32(f32(1 / 6) * model[i]!);
      this.runningModelOutput = undefined;
    }
    return this.previousSample(this.savedSample ?? sample, stageTimestep, previous, epsilon);
  }

  /**
   * A pseudo linear multistep step (Liu et al. 2022, eq. 12): the 4th-order Adams–Bashforth
   * combination of past ε, with lower orders while the history fills.
   */
  private stepLinearMultistep(model: Float32Array, timestep: number, sample: Float32Array): Float32Array {
    const stride = Math.floor(this.config.num_train_timesteps / this.numInferenceSteps!);
    let previous = timestep - stride;
    let current = timestep;
    if (this.counter !== 1) {
      // Keep the last three ε and append this one, recycling the dropped buffer.
      const dropped = this.history.length > 3 ? this.history.splice(0, this.history.length - 3) : [];
      const buffer = dropped[0]?.length === model.length ? dropped[0] : new Float32Array(model.length);
      buffer.set(model);
      this.history.push(buffer);
    } else {
      // The repeated timestep: the step is taken again from the same point, now with 2nd order.
      previous = timestep;
      current = timestep + stride;
    }
    const e = this.history;
    const size = model.length;
    let epsilon: Float32Array;
    let from = sample;
    const combined = (): Float32Array => this.reusable('combined output', size);
    if (e.length === 1 && this.counter === 0) {
      epsilon = model;
      this.savedSample = this.reusable('saved sample', size);
      this.savedSample.set(sample);
    } else if (e.length === 1 && this.counter === 1) {
      epsilon = combined();
      for (let i = 0; i < size; i++) epsilon[i] = f32(model[i]! + e[0]![i]!) / 2;
      from = this.savedSample!;
      this.savedSample = undefined;
    } else if (e.length === 2) {
      epsilon = combined();
      for (let i = 0; i < size; i++) epsilon[i] = f32(f32(3 * e[1]![i]!) - e[0]![i]!) / 2;
    } else if (e.length === 3) {
      epsilon = combined();
      for (let i = 0; i < size; i++) epsilon[i] = f32(f32(f32(23 * e[2]![i]!) - f32(16 * e[1]![i]!)) + f32(5 * e[0]![i]!)) / 12;
    } else {
      epsilon = combined();
      const c = f32(1 / 24);
      for (let i = 0; i < size; i++) {
        epsilon[i] = c * f32(f32(f32(f32(55 * e[3]![i]!) - f32(59 * e[2]![i]!)) + f32(37 * e[1]![i]!)) - f32(9 * e[0]![i]!));
      }
    }
    return this.previousSample(from, current, previous, epsilon);
  }

  /** The transfer x_t → x_{t−δ} of Liu et al. 2022 eq. 11 (the DDIM update written in ε). */
  private previousSample(sample: Float32Array, timestep: number, previousTimestep: number, modelOutput: Float32Array): Float32Array {
    const alpha = this.alphasCumprod[timestep]!;
    const alphaPrev = this.alphaCumprodOrFinal(previousTimestep, this.config.set_alpha_to_one);
    const beta = f32(1 - alpha);
    const betaPrev = f32(1 - alphaPrev);
    const size = sample.length;
    let epsilon = modelOutput;
    if (this.config.prediction_type === 'v_prediction') {
      const sqrtAlpha = f32(Math.sqrt(alpha));
      const sqrtBeta = f32(Math.sqrt(beta));
      epsilon = this.reusable('epsilon from v', size);
      for (let i = 0; i < size; i++) epsilon[i] = f32(sqrtAlpha * modelOutput[i]!) + f32(sqrtBeta * sample[i]!);
    }
    const sampleCoefficient = f32(Math.sqrt(f32(alphaPrev / alpha)));
    const denominator = f32(f32(alpha * f32(Math.sqrt(betaPrev))) + f32(Math.sqrt(f32(f32(alpha * beta) * alphaPrev))));
    const difference = f32(alphaPrev - alpha);
    const out = new Float32Array(size);
    for (let i = 0; i < size; i++) out[i] = f32(sampleCoefficient * sample[i]!) - f32(f32(difference * epsilon[i]!) / denominator);
    return out;
  }
}
