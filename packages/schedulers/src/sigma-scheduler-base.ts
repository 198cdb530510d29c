/**
 * The base of the σ-parameterised ("Karras") schedulers, diffusers' Euler, Euler ancestral, LMS,
 * Heun and KDPM2 family: x = x₀ + σ·ε (Karras et al. 2022, eq. 1), the model sees x/√(σ² + 1),
 * and the schedule is a list of σ ending in 0.
 */
import { InvalidArgumentError, createTensor, type PredictionType, type Tensor } from '@latentkit/core';
import { NOISE_SCHEDULE_DEFAULTS } from './noise-schedule';
import { SchedulerBase, type SchedulerConfig, type SchedulerOptions } from './scheduler-base';
import { checkSigmaSpacing, interpolateOnGrid, logFloat32, respacedSigmas, sigmaToTimestep, sigmasFromAlphasCumprod, type SigmaSpacingConfig } from './sigmas';
import { checkSpacing, roundHalfEven, sigmaTimesteps, type TimestepSpacing } from './timestep-spacing';

/** Config keys of the σ schedulers. */
export interface SigmaSchedulerConfig extends SchedulerConfig {
  timestep_spacing: TimestepSpacing;
  steps_offset: number;
}

/**
 * The defaults (diffusers 0.25) of the keys every σ scheduler shares; each class's defaults
 * spread these and add or override their own (Heun and KDPM2 default to SD's β range).
 *
 * @example
 * ```ts
 * const MY_DEFAULTS = { ...SIGMA_SCHEDULER_DEFAULTS, use_karras_sigmas: false };
 * ```
 */
export const SIGMA_SCHEDULER_DEFAULTS: Readonly<SigmaSchedulerConfig> = Object.freeze({
  ...NOISE_SCHEDULE_DEFAULTS,
  prediction_type: 'epsilon',
  timestep_spacing: 'linspace',
  steps_offset: 0,
});

const f32 = Math.fround;

/**
 * Shared σ machinery. Subclasses build `sigmas` (one per timestep, then the final one) in
 * `setTimesteps` with {@link SigmaSchedulerBase.interpolatedSchedule}.
 *
 * @example
 * ```ts
 * class MySampler extends SigmaSchedulerBase<MyConfig> { ... }
 * ```
 */
export abstract class SigmaSchedulerBase<C extends SigmaSchedulerConfig> extends SchedulerBase<C> {
  /** σ of each training timestep, float32. */
  protected readonly trainingSigmas: Float32Array;
  protected readonly logSigmas: Float32Array;
  /** σ for each schedule position, then the final σ (usually 0); float32 values. */
  protected sigmas: Float32Array<ArrayBufferLike>;

  protected constructor(
    className: string,
    given: Readonly<Record<string, unknown>> | undefined,
    defaults: C,
    options: SchedulerOptions & { predictionTypes?: readonly PredictionType[] } = {},
  ) {
    super(className, given, defaults, options);
    checkSpacing(this.className, this.config.timestep_spacing);
    checkSigmaSpacing(this.className, this.config as never);
    this.trainingSigmas = sigmasFromAlphasCumprod(this.alphasCumprod);
    this.logSigmas = logFloat32(this.trainingSigmas);
    this.sigmas = Float32Array.from([...this.trainingSigmas].reverse());
  }

  /**
   * σ_max for `linspace`/`trailing` spacing, else √(σ_max² + 1) (the `leading` schedule does not
   * start at the last training step), as diffusers.
   */
  override get initNoiseSigma(): number {
    let max = 0;
    for (const s of this.sigmas) if (s > max) max = s;
    if (this.config.timestep_spacing === 'linspace' || this.config.timestep_spacing === 'trailing') return max;
    return f32(Math.sqrt(f32(f32(max * max) + 1)));
  }

  /** The σ by which `scaleModelInput` divides at a step index (KDPM2 overrides it). */
  protected sigmaForInput(index: number): number {
    return this.sigmas[index]!;
  }

  /** Scales the input to unit variance: x/√(σ² + 1) (Karras et al. 2022, Table 1, c_in). */
  override scaleModelInput(sample: Tensor<Float32Array>, timestep: number): Tensor<Float32Array> {
    this.requireTimesteps('scaleModelInput');
    this.checkTensor('sample', sample);
    const sigma = this.sigmaForInput(this.currentStepIndex(timestep));
    const scale = f32(Math.sqrt(f32(f32(sigma * sigma) + 1)));
    const x = sample.data;
    const out = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = x[i]! / scale;
    return createTensor(sample.dims, out);
  }

  /** Noises clean samples to the σ of the given timesteps: x₀ + σ·ε. */
  override addNoise(original: Tensor<Float32Array>, noise: Tensor<Float32Array>, timesteps: readonly number[]): Tensor<Float32Array> {
    this.requireTimesteps('addNoise');
    const batch = this.checkAddNoise(original, noise, timesteps);
    const size = original.data.length / batch;
    const out = new Float32Array(original.data.length);
    for (let b = 0; b < batch; b++) {
      const t = timesteps.length === 1 ? timesteps[0]! : timesteps[b]!;
      let index: number;
      if (this.beginIndex !== undefined) index = this.stepIndex ?? this.beginIndex;
      else {
        const first = this.indexForTimestep(t);
        const second = this.schedule.indexOf(t, first + 1);
        index = second >= 0 ? second : first;
      }
      const sigma = this.sigmas[index]!;
      for (let i = b * size; i < (b + 1) * size; i++) out[i] = original.data[i]! + f32(noise.data[i]! * sigma);
    }
    return createTensor(original.dims, out);
  }

  /**
   * The timesteps of the config's spacing and σ interpolated at them (np.interp on the training
   * σ), or re-spaced (Karras, exponential) between the interpolated ends with timesteps mapped back.
   */
  protected interpolatedSchedule(
    n: number,
    float32Timesteps: boolean,
    bounds?: { sigma_min?: number | null; sigma_max?: number | null },
    roundKarrasTimesteps = false,
  ): { timesteps: number[]; sigmas: number[] } {
    const { timestep_spacing: spacing, num_train_timesteps: numTrain, steps_offset: offset } = this.config;
    let timesteps = sigmaTimesteps(spacing, n, numTrain, offset, float32Timesteps);
    let sigmas = timesteps.map((t) => interpolateOnGrid(t, this.trainingSigmas));
    const respaced = respacedSigmas(this.config as never, bounds?.sigma_min ?? sigmas[sigmas.length - 1]!, bounds?.sigma_max ?? sigmas[0]!, n);
    if (respaced) {
      sigmas = respaced;
      timesteps = sigmas.map((s) => sigmaToTimestep(s, this.logSigmas));
      // The KDPM2 samplers round the Karras timesteps to integers (not the exponential ones), as diffusers.
      if (roundKarrasTimesteps && (this.config as SigmaSpacingConfig).use_karras_sigmas) timesteps = timesteps.map(roundHalfEven);
      if (float32Timesteps) timesteps = timesteps.map(Math.fround);
    }
    return { timesteps, sigmas };
  }

  /**
   * `rescale_betas_zero_snr` for σ samplers: a zero-SNR final step would have σ = ∞, so diffusers
   * sets ᾱ_T to 2⁻²⁴ instead and recomputes the training σ from it.
   */
  protected useZeroTerminalSnrSigmas(): void {
    this.alphasCumprod[this.alphasCumprod.length - 1] = 2 ** -24;
    this.trainingSigmas.set(this.alphasCumprod.map((a) => Math.sqrt(f32(f32(1 - a) / a))));
    this.logSigmas.set(this.trainingSigmas.map(Math.log));
    this.sigmas = Float32Array.from([...this.trainingSigmas].reverse());
  }

  /** Refuses an option this class does not implement, naming the alternatives. */
  protected refuse(key: string, value: unknown, expected: string): never {
    throw new InvalidArgumentError({ name: `${this.className} config.${key}`, expected, actual: value });
  }
}
