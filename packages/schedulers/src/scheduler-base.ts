/**
 * What every scheduler shares: config resolution against the class defaults, the β/ᾱ schedule,
 * timestep bookkeeping (step index, img2img begin index), input checks with clear errors,
 * `addNoise` and the img2img timesteps. Each scheduler file then holds only its algorithm.
 */
import {
  InvalidArgumentError,
  camelToSnake,
  img2imgStartIndex,
  StateError,
  createTensor,
  formatDims,
  resolveConfig,
  type Generator,
  type PredictionType,
  type Scheduler,
  type SchedulerStepOutput,
  type SetTimestepsOptions,
  type StepOptions,
  type Tensor,
} from '@latentkit/core';
import { alphasCumprodFrom, betasFor, type NoiseScheduleConfig } from './noise-schedule';
import { checkStepCount, discreteTimesteps, type TimestepSpacing } from './timestep-spacing';

/** Config keys common to every scheduler (diffusers' snake_case). */
export interface SchedulerConfig extends NoiseScheduleConfig {
  prediction_type: PredictionType;
}

const f32 = Math.fround;

/** Options for constructing any scheduler. */
export interface SchedulerOptions {
  /** Called for each config key the class does not know (default: a process warning, once per key). */
  onUnknownKey?: (key: string) => void;
}

/**
 * The base class of latentkit's schedulers. Not part of the public contract: plugins implement
 * {@link Scheduler} directly.
 *
 * @example
 * ```ts
 * class MyScheduler extends SchedulerBase<MyConfig> { ... }
 * ```
 */
export abstract class SchedulerBase<C extends SchedulerConfig> implements Scheduler {
  readonly specificationVersion = 'v1' as const;
  readonly className: string;
  readonly config: Readonly<C & { _class_name: string; _use_default_values: readonly string[] }>;
  /** ᾱ_t for t = 0 … T−1, float32 as diffusers computes it. */
  readonly alphasCumprod: Float32Array;
  abstract readonly order: number;
  private scheduleValues: readonly number[] = [];
  /** The largest step count this config allows, computed on first need ({@link maxInferenceSteps}). */
  private stepLimit: number | undefined;
  /** Set on the throw-away copies {@link maxInferenceSteps} probes with, so that they fail cheaply. */
  private probing = false;
  protected numInferenceSteps: number | undefined;
  /** Index into the schedule of the next `step`; set on the first step (or by img2img). */
  protected stepIndex: number | undefined;
  /** Where img2img starts along the schedule (diffusers' `begin_index`). */
  protected beginIndex: number | undefined;
  /** Internal buffers kept across steps (never returned to the caller), by purpose. */
  private readonly buffers = new Map<string, Float32Array>();
  private readonly options: SchedulerOptions;

  protected constructor(
    className: string,
    given: Readonly<Record<string, unknown>> | undefined,
    defaults: C,
    options: SchedulerOptions & { predictionTypes?: readonly PredictionType[] } = {},
  ) {
    this.className = className;
    this.options = { onUnknownKey: options.onUnknownKey };
    const config = resolveConfig(given, defaults as unknown as Record<string, unknown>, { className, onUnknown: options.onUnknownKey }) as unknown as C;
    const allowed = options.predictionTypes ?? ['epsilon', 'v_prediction', 'sample'];
    if (!allowed.includes(config.prediction_type)) {
      throw new InvalidArgumentError({
        name: `${className} config.prediction_type`,
        expected: allowed.map((p) => `'${p}'`).join(' | '),
        actual: config.prediction_type,
        hint: `use the prediction type the UNet was trained with; ${className} supports only these`,
      });
    }
    // Like diffusers' saved configs: the class name, and which keys took the class default (so
    // that swapping schedulers keeps each class's own defaults for them, as `from_config` does).
    const givenKeys = new Set(Object.keys(given ?? {}).map((key) => (key in defaults ? key : camelToSnake(key))));
    const usedDefaults = Object.keys(defaults).filter((key) => !givenKeys.has(key));
    this.config = Object.freeze({ ...config, _class_name: className, _use_default_values: usedDefaults });
    const betas = betasFor(config, className);
    assertBetas(betas, className, config);
    this.alphasCumprod = alphasCumprodFrom(betas);
    assertStepsOffset(className, config as unknown as Record<string, unknown>);
    // Remember the requested count of each setTimesteps call, for the schedule check's message.
    const setTimesteps = this.setTimesteps;
    Object.defineProperty(this, 'setTimesteps', {
      value: (numInferenceSteps: number, options?: SetTimestepsOptions) => {
        this.numInferenceStepsRequested = numInferenceSteps;
        return setTimesteps.call(this, numInferenceSteps, options);
      },
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }

  /**
   * The timesteps of the current schedule. Every schedule a subclass sets is checked to lie in
   * [0, num_train_timesteps): a timestep outside has no ᾱ_t and would turn the latents into NaN.
   */
  protected get schedule(): readonly number[] {
    return this.scheduleValues;
  }

  protected set schedule(values: readonly number[]) {
    const numTrain = this.config.num_train_timesteps;
    const outside = values.find((t) => !(Number.isFinite(t) && t >= 0 && t <= numTrain - 1));
    if (outside !== undefined) {
      if (this.probing) throw new RangeError('outside');
      const limit = this.maxInferenceSteps();
      throw new InvalidArgumentError({
        name: `${this.className}.setTimesteps(numInferenceSteps)`,
        expected:
          limit > 0
            ? `at most ${limit} steps with this config (timestep_spacing '${String((this.config as Record<string, unknown>).timestep_spacing ?? 'n/a')}', steps_offset ${String((this.config as Record<string, unknown>).steps_offset ?? 0)}, num_train_timesteps ${numTrain})`
            : `a config whose timesteps fall in [0, ${numTrain - 1}]`,
        actual: this.numInferenceStepsRequested ?? values.length,
        hint: `it would visit timestep ${outside}, outside [0, ${numTrain - 1}] (the training schedule); ${limit > 0 ? `use at most ${limit} steps` : 'fix the scheduler config'}`,
      });
    }
    this.scheduleValues = values;
  }

  /** The step count of the `setTimesteps` call in progress, for messages. */
  protected numInferenceStepsRequested: number | undefined;

  /**
   * The largest `numInferenceSteps` whose schedule stays inside [0, num_train_timesteps) for
   * this config (e.g. 999 for a 1000-step schedule with "leading" spacing and steps_offset 1, whose
   * 1000-step schedule would start at t = 1000). Computed by building the schedules on a copy,
   * from num_train_timesteps down, once per scheduler.
   *
   * @example
   * ```ts
   * new DDIMScheduler({ steps_offset: 1 }).maxInferenceSteps(); // 999
   * ```
   */
  maxInferenceSteps(): number {
    if (this.stepLimit !== undefined) return this.stepLimit;
    const Class = this.constructor as new (config: Readonly<Record<string, unknown>>, options?: SchedulerOptions) => SchedulerBase<C>;
    const given = Object.fromEntries(Object.entries(this.config).filter(([key]) => !key.startsWith('_')));
    const probe = new Class(given, { onUnknownKey: () => {} });
    probe.probing = true;
    let limit = 0;
    for (let n = this.config.num_train_timesteps; n >= 1 && limit === 0; n--) {
      try {
        probe.setTimesteps(n);
        limit = n;
      } catch {
        // this n leaves the training range; try one fewer
      }
    }
    this.stepLimit = limit;
    return limit;
  }

  get timesteps(): readonly number[] {
    return this.schedule;
  }

  /**
   * A fresh scheduler of this class built from the same given config: the keys that took the
   * class defaults stay defaults, so the copy's `config` (its `_use_default_values` included)
   * equals this one's, and it has no schedule or history yet.
   */
  clone(): Scheduler {
    const defaults = new Set(this.config._use_default_values);
    const given = Object.fromEntries(Object.entries(this.config).filter(([key]) => !defaults.has(key) && key !== '_use_default_values' && key !== '_class_name'));
    const SchedulerClass = this.constructor as new (config: Readonly<Record<string, unknown>>, options: SchedulerOptions) => Scheduler;
    return new SchedulerClass(given, this.options);
  }

  get predictionType(): PredictionType {
    return this.config.prediction_type;
  }

  /**
   * 1: the ᾱ-parameterised samplers (DDPM, DDIM, PNDM, LCM, the solvers) start from unit-variance
   * noise; the σ-parameterised ones override it.
   */
  get initNoiseSigma(): number {
    return 1;
  }

  abstract setTimesteps(numInferenceSteps: number, options?: SetTimestepsOptions): void;
  abstract step(modelOutput: Tensor<Float32Array>, timestep: number, sample: Tensor<Float32Array>, options?: StepOptions): SchedulerStepOutput;

  /** Returns the input unchanged: only the σ-parameterised schedulers scale it. */
  scaleModelInput(sample: Tensor<Float32Array>, timestep: number): Tensor<Float32Array> {
    this.requireTimesteps('scaleModelInput');
    this.checkTensor('sample', sample);
    this.indexForTimestep(timestep);
    return sample;
  }

  /**
 * Noises clean samples to the given timesteps (one per batch item, or one for all), as
 * q(x_t | x₀) = N(√ᾱ_t x₀, (1 − ᾱ_t) I) (Ho et al. 2020, eq. 4).
   */
  addNoise(original: Tensor<Float32Array>, noise: Tensor<Float32Array>, timesteps: readonly number[]): Tensor<Float32Array> {
    const batch = this.checkAddNoise(original, noise, timesteps);
    const out = new Float32Array(original.data.length);
    const size = out.length / batch;
    for (let b = 0; b < batch; b++) {
      const t = timesteps.length === 1 ? timesteps[0]! : timesteps[b]!;
      if (!Number.isInteger(t) || t < 0 || t >= this.alphasCumprod.length) {
        throw new InvalidArgumentError({ name: 'timesteps', expected: `integers in [0, ${this.alphasCumprod.length - 1}]`, actual: timesteps });
      }
      const alphaBar = this.alphasCumprod[t]!;
      const signal = f32(Math.sqrt(alphaBar));
      const noiseScale = f32(Math.sqrt(f32(1 - alphaBar)));
      for (let i = b * size; i < (b + 1) * size; i++) out[i] = f32(signal * original.data[i]!) + f32(noiseScale * noise.data[i]!);
    }
    return createTensor(original.dims, out);
  }

  /**
   * The timesteps img2img denoises, as diffusers' StableDiffusionImg2ImgPipeline: the last
   * `min(⌊n·strength⌋, n)` steps of an n-step schedule. Call it instead of `setTimesteps`.
   */
  getImg2ImgTimesteps(numInferenceSteps: number, strength: number): { timesteps: readonly number[]; startIndex: number } {
    const start = img2imgStartIndex(numInferenceSteps, strength, this.order);
    this.setTimesteps(numInferenceSteps);
    this.beginIndex = start;
    return { timesteps: this.schedule.slice(start), startIndex: start };
  }

  /**
   * An internal buffer of `size` floats kept across steps, so that a step's state (history,
   * saved samples) costs no allocation once the run is warm. Its contents are the caller's to set.
   */
  protected reusable(purpose: string, size: number): Float32Array {
    let buffer = this.buffers.get(purpose);
    if (buffer?.length !== size) {
      buffer = new Float32Array(size);
      this.buffers.set(purpose, buffer);
    }
    return buffer;
  }

  /**
   * Refuses explicit `timesteps`/`sigmas` in `setTimesteps` options, which these schedulers do not
   * take (diffusers added them to a few classes later): better an error than a silently ignored option.
   */
  protected refuseCustomSchedule(options: SetTimestepsOptions | undefined): void {
    for (const key of ['timesteps', 'sigmas'] as const) {
      if (options?.[key] !== undefined) {
        throw new InvalidArgumentError({
          name: `${this.className}.setTimesteps(n, { ${key} })`,
          expected: 'undefined',
          actual: options[key],
          hint: `${this.className} builds its schedule from numInferenceSteps and the config (timestep_spacing, use_karras_sigmas, …); pass those instead`,
        });
      }
    }
  }

  /**
   * ᾱ at a timestep, or past the first training step (timestep < 0) the final ᾱ the DDIM family
   * steps to: 1 with `set_alpha_to_one`, else ᾱ_0 (Song et al. 2021, DDIM; diffusers' `final_alpha_cumprod`).
   */
  protected alphaCumprodOrFinal(timestep: number, setAlphaToOne: boolean): number {
    if (timestep >= 0) return this.alphasCumprod[timestep]!;
    return setAlphaToOne ? 1 : this.alphasCumprod[0]!;
  }

  /**
   * `setTimesteps` of the discrete-time samplers (DDIM, DDPM): `numInferenceSteps` training
   * timesteps, descending, spaced as `spacing` says and shifted by `stepsOffset`.
   */
  protected setDiscreteTimesteps(numInferenceSteps: number, options: SetTimestepsOptions | undefined, spacing: TimestepSpacing, stepsOffset: number): void {
    const n = this.checkedStepCount(numInferenceSteps, options);
    this.startSchedule(discreteTimesteps(spacing, n, this.config.num_train_timesteps, stepsOffset), n);
  }

  /**
   * What every `setTimesteps` checks first: no custom `timesteps`/`sigmas` (see
   * {@link SchedulerBase.refuseCustomSchedule}) and a step count in [1, num_train_timesteps], returned.
   */
  protected checkedStepCount(numInferenceSteps: number, options: SetTimestepsOptions | undefined): number {
    this.refuseCustomSchedule(options);
    return checkStepCount(this.className, numInferenceSteps, this.config.num_train_timesteps);
  }

  /**
   * Installs a new schedule of `numInferenceSteps` steps (checked by the `schedule` setter) with
   * no step taken yet; a subclass resets its own multistep state beside it.
   */
  protected startSchedule(timesteps: readonly number[], numInferenceSteps: number): void {
    this.schedule = Object.freeze(timesteps);
    this.numInferenceSteps = numInferenceSteps;
    this.stepIndex = undefined;
    this.beginIndex = undefined;
  }

  /** Throws a {@link StateError} when `setTimesteps` has not run. */
  protected requireTimesteps(method: string): void {
    if (this.numInferenceSteps === undefined) {
      throw new StateError(`${this.className}.${method}() was called before setTimesteps(): call scheduler.setTimesteps(numInferenceSteps) first`);
    }
  }

  /** The position of a timestep in the schedule; throws when it is not in it. */
  protected indexForTimestep(timestep: number, fromIndex = 0): number {
    if (typeof timestep !== 'number' || Number.isNaN(timestep)) {
      throw new InvalidArgumentError({ name: 'timestep', expected: 'a number from scheduler.timesteps', actual: timestep });
    }
    const index = this.schedule.indexOf(timestep, fromIndex);
    if (index < 0) {
      throw new InvalidArgumentError({
        name: 'timestep',
        expected: `one of this schedule's timesteps ${JSON.stringify(this.schedule.slice(0, 8))}${this.schedule.length > 8 ? '…' : ''}`,
        actual: timestep,
        hint: 'pass the values of scheduler.timesteps in order, after setTimesteps()',
      });
    }
    return index;
  }

  /**
   * The step index for the σ-based schedulers: the img2img begin index, else the timestep's
   * position (the second occurrence for repeated timesteps, as diffusers' `index_for_timestep`).
   */
  protected currentStepIndex(timestep: number): number {
    if (this.stepIndex === undefined) {
      if (this.beginIndex !== undefined) this.stepIndex = this.beginIndex;
      else {
        const first = this.indexForTimestep(timestep);
        const second = this.schedule.indexOf(timestep, first + 1);
        this.stepIndex = second >= 0 ? second : first;
      }
    }
    if (this.stepIndex >= this.schedule.length) {
      throw new StateError(
        `${this.className}.step() was called after the last of ${this.schedule.length} timesteps: call setTimesteps() again to start a new run`,
      );
    }
    if (this.schedule[this.stepIndex] !== timestep) this.indexForTimestep(timestep);
    return this.stepIndex;
  }

  /** Checks a tensor: float32, consistent shape, finite values. */
  protected checkTensor(name: string, tensor: Tensor<Float32Array>): void {
    if (!tensor || !(tensor.data instanceof Float32Array) || !Array.isArray(tensor.dims)) {
      throw new InvalidArgumentError({ name, expected: 'a float32 tensor { dims, data: Float32Array }', actual: tensor });
    }
    let size = 1;
    for (const d of tensor.dims) size *= d;
    if (size !== tensor.data.length || tensor.dims.length < 1) {
      throw new InvalidArgumentError({ name, expected: `data of ${size} elements for shape ${formatDims(tensor.dims)}`, actual: tensor.data.length });
    }
    const data = tensor.data;
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (v - v !== 0) {
        throw new InvalidArgumentError({
          name,
          expected: 'finite values',
          actual: v,
          hint: `element ${i} is not finite; ${
            name === 'modelOutput' ? "the model produced it (fp16 overflow? run it in float32)"
            : name === 'sample' ? 'it came with the sample: the starting latents (a NaN input image or noise) or the previous step'
            : `check where the ${name} came from`
          }`,
        });
      }
    }
  }

  /**
   * The checks every multistep `step()` starts with, in this order: `setTimesteps` has run, the
   * timestep is in the schedule, the model output and sample are float32 tensors of one shape.
   * Returns the step's index, tracked across steps ({@link SchedulerBase.currentStepIndex}).
   */
  protected beginStep(modelOutput: Tensor<Float32Array>, timestep: number, sample: Tensor<Float32Array>): number {
    this.requireTimesteps('step');
    const index = this.currentStepIndex(timestep);
    this.checkStepInputs(modelOutput, sample);
    return index;
  }

  /**
   * The same checks for the samplers whose step depends on the timestep alone (DDPM, DDIM, PNDM):
   * returns the timestep's position in the schedule without tracking a step index.
   */
  protected checkStep(modelOutput: Tensor<Float32Array>, timestep: number, sample: Tensor<Float32Array>): number {
    this.requireTimesteps('step');
    const index = this.indexForTimestep(timestep);
    this.checkStepInputs(modelOutput, sample);
    return index;
  }

  /** Checks the two tensors of a step: same shape, finite. */
  protected checkStepInputs(modelOutput: Tensor<Float32Array>, sample: Tensor<Float32Array>): void {
    this.checkTensor('sample', sample);
    this.checkTensor('modelOutput', modelOutput);
    const same = modelOutput.dims.length === sample.dims.length && modelOutput.dims.every((d, i) => d === sample.dims[i]);
    if (!same) {
      throw new InvalidArgumentError({
        name: 'modelOutput',
        expected: `the sample's shape ${formatDims(sample.dims)}`,
        actual: formatDims(modelOutput.dims),
        hint: 'pass the UNet output for this sample (split classifier-free guidance batches before the step)',
      });
    }
  }

  /** Returns the generator, or throws naming why this step needs one. */
  protected requireGenerator(options: StepOptions | undefined, why: string): Generator {
    const generator = options?.generator;
    if (!generator || typeof generator.randn !== 'function') {
      throw new InvalidArgumentError({
        name: 'options.generator',
        expected: 'a Generator (e.g. new TorchGenerator(seed) from @latentkit/core)',
        actual: generator,
        hint: `${this.className} ${why}`,
      });
    }
    return generator;
  }

  /** Draws noise of the sample's shape, checking the generator's answer. */
  protected drawNoise(generator: Generator, dims: readonly number[], size: number): Float32Array {
    const noise = generator.randn(dims);
    if (!(noise instanceof Float32Array) || noise.length !== size) {
      throw new InvalidArgumentError({ name: 'generator.randn(dims)', expected: `a Float32Array of ${size} values`, actual: noise });
    }
    return noise;
  }

  /** Shared checks of `addNoise`; returns the batch size. */
  protected checkAddNoise(original: Tensor<Float32Array>, noise: Tensor<Float32Array>, timesteps: readonly number[]): number {
    this.checkTensor('original', original);
    this.checkTensor('noise', noise);
    if (noise.data.length !== original.data.length || noise.dims.some((d, i) => d !== original.dims[i])) {
      throw new InvalidArgumentError({ name: 'noise', expected: `the shape ${formatDims(original.dims)}`, actual: formatDims(noise.dims) });
    }
    const batch = original.dims[0]!;
    if (!Array.isArray(timesteps) || !(timesteps.length === 1 || timesteps.length === batch)) {
      throw new InvalidArgumentError({ name: 'timesteps', expected: `1 or ${batch} (batch) timesteps`, actual: timesteps });
    }
    return batch;
  }
}

/**
 * β_t must be a probability of adding noise: finite and in [0, 1] (1 only at the end of a zero-terminal-SNR schedule). A negative or NaN β (a typo in
 * `trained_betas` or `beta_start`) gives ᾱ_t > 1 or NaN and a NaN image many steps later.
 */
function assertBetas(betas: Float32Array, className: string, config: NoiseScheduleConfig): void {
  for (let i = 0; i < betas.length; i++) {
    const beta = betas[i]!;
    if (!(beta >= 0 && beta <= 1)) {
      const source = config.trained_betas != null ? `config.trained_betas[${i}]` : `config.beta_start/beta_end (${config.beta_start}, ${config.beta_end}, '${config.beta_schedule}')`;
      throw new InvalidArgumentError({
        name: `${className} ${source}`,
        expected: 'noise variances β_t in [0, 1]',
        actual: config.trained_betas != null ? config.trained_betas[i] : beta,
        hint: `β_${i} would give NaN latents: fix the scheduler config (SD 1.x uses beta_start 0.00085, beta_end 0.012, 'scaled_linear')`,
      });
    }
  }
}

/** `steps_offset` shifts every timestep: it must keep them in [0, num_train_timesteps). */
function assertStepsOffset(className: string, config: Readonly<Record<string, unknown>>): void {
  if (!('steps_offset' in config)) return;
  const offset = config.steps_offset;
  const numTrain = config.num_train_timesteps as number;
  if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0 || offset >= numTrain) {
    throw new InvalidArgumentError({
      name: `${className} config.steps_offset`,
      expected: `an integer in [0, ${numTrain - 1}] (timesteps must stay in [0, num_train_timesteps))`,
      actual: offset,
      hint: 'set steps_offset to 1 (Stable Diffusion 1.x) or 0 in scheduler_config.json',
    });
  }
}
