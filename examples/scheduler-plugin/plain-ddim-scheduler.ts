/**
 * A scheduler written outside latentkit's packages, against the `Scheduler` contract of
 * `@latentkit/core` only: deterministic DDIM (Song, Meng & Ermon 2021, "Denoising Diffusion
 * Implicit Models"), from its equations, plus the registry plugin that lets `fromPretrained()`
 * create it for a model folder's `["diffusers", "DDIMScheduler"]` slot.
 *
 * The forward process (Ho et al. 2020, eq. 4) noises a clean latent x₀ to step t as
 *   x_t = √ᾱ_t · x₀ + √(1 − ᾱ_t) · ε,   ᾱ_t = ∏_{s ≤ t} (1 − β_s).
 * DDIM with η = 0 (Song et al. 2021, eq. 12) inverts it deterministically: estimate x₀ from the
 * model's noise prediction ε̂, then re-noise that estimate to the previous step's level with the
 * same ε̂:
 *   x̂₀ = (x_t − √(1 − ᾱ_t) · ε̂) / √ᾱ_t
 *   x_{t−Δ} = √ᾱ_{t−Δ} · x̂₀ + √(1 − ᾱ_{t−Δ}) · ε̂
 */
import {
  InvalidArgumentError,
  StateError,
  createTensor,
  registry as defaultRegistry,
  type ComponentEntry,
  type ComponentSource,
  type Plugin,
  type PluginRegistry,
  type PredictionType,
  type Scheduler,
  type SchedulerStepOutput,
  type Tensor,
} from '@latentkit/core';

/** The keys of a diffusers `scheduler_config.json` this scheduler reads (others are ignored). */
export interface PlainDdimConfig {
  num_train_timesteps?: number;
  beta_start?: number;
  beta_end?: number;
  /** `'linear'` or `'scaled_linear'` (SD's: linear in √β). */
  beta_schedule?: string;
  /** Whether the step after the last one has ᾱ = 1 (else ᾱ₀). */
  set_alpha_to_one?: boolean;
  steps_offset?: number;
  prediction_type?: PredictionType;
}

/**
 * Deterministic DDIM with diffusers' "leading" timestep spacing.
 *
 * @example
 * ```ts
 * const scheduler = new PlainDdimScheduler({ beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012, steps_offset: 1 });
 * scheduler.setTimesteps(20); // timesteps 951, 901, …, 1
 * ```
 */
export class PlainDdimScheduler implements Scheduler {
  readonly specificationVersion = 'v1' as const;
  readonly className = 'PlainDdimScheduler';
  readonly order = 1;
  readonly initNoiseSigma = 1;
  readonly predictionType: PredictionType;
  readonly config: Readonly<Record<string, unknown>>;
  /** ᾱ_t for t = 0 … T−1, in float32 as PyTorch computes them. */
  readonly alphasCumprod: Float32Array;
  private schedule: number[] | undefined;
  private stepSize = 0;

  constructor(config: PlainDdimConfig = {}) {
    const trainSteps = config.num_train_timesteps ?? 1000;
    const [start, end] = [config.beta_start ?? 0.0001, config.beta_end ?? 0.02];
    const schedule = config.beta_schedule ?? 'linear';
    const prediction = config.prediction_type ?? 'epsilon';
    if (schedule !== 'linear' && schedule !== 'scaled_linear') {
      throw new InvalidArgumentError({ name: 'beta_schedule', expected: "'linear' or 'scaled_linear'", actual: schedule, hint: 'use the built-in DDIMScheduler of @latentkit/schedulers for other schedules' });
    }
    if (prediction !== 'epsilon' && prediction !== 'v_prediction') {
      throw new InvalidArgumentError({ name: 'prediction_type', expected: "'epsilon' or 'v_prediction'", actual: prediction });
    }
    this.predictionType = prediction;
    this.config = { num_train_timesteps: trainSteps, beta_start: start, beta_end: end, beta_schedule: schedule, set_alpha_to_one: config.set_alpha_to_one ?? true, steps_offset: config.steps_offset ?? 0, prediction_type: prediction };
    // β_t: linear in β, or linear in √β then squared ("scaled_linear", Rombach et al. 2022); all in float32.
    this.alphasCumprod = new Float32Array(trainSteps);
    let product = 1;
    for (let t = 0; t < trainSteps; t++) {
      const fraction = trainSteps === 1 ? 0 : t / (trainSteps - 1);
      const beta =
        schedule === 'linear'
          ? Math.fround(start + (end - start) * fraction)
          : Math.fround(Math.fround(Math.sqrt(start) + (Math.sqrt(end) - Math.sqrt(start)) * fraction) ** 2);
      product = Math.fround(product * Math.fround(1 - beta));
      this.alphasCumprod[t] = product;
    }
  }

  get timesteps(): readonly number[] {
    return this.schedule ?? [];
  }

  /** "Leading" spacing: every (T / n)-th training step from 0, reversed, shifted by `steps_offset`. */
  setTimesteps(numInferenceSteps: number): void {
    const trainSteps = this.alphasCumprod.length;
    if (!Number.isInteger(numInferenceSteps) || numInferenceSteps < 1 || numInferenceSteps > trainSteps) {
      throw new InvalidArgumentError({ name: 'numInferenceSteps', expected: `an integer in 1 … ${trainSteps}`, actual: numInferenceSteps });
    }
    this.stepSize = Math.floor(trainSteps / numInferenceSteps);
    const offset = this.config.steps_offset as number;
    this.schedule = Array.from({ length: numInferenceSteps }, (_, i) => (numInferenceSteps - 1 - i) * this.stepSize + offset);
  }

  /** DDIM feeds the model x_t as it is. */
  scaleModelInput(sample: Tensor<Float32Array>): Tensor<Float32Array> {
    return sample;
  }

  /** One DDIM step with η = 0 (equation 12 of Song et al. 2021). */
  step(modelOutput: Tensor<Float32Array>, timestep: number, sample: Tensor<Float32Array>): SchedulerStepOutput {
    if (!this.schedule) throw new StateError('PlainDdimScheduler.step() was called before setTimesteps(): call setTimesteps(numInferenceSteps) first');
    if (modelOutput.data.length !== sample.data.length || modelOutput.dims.join() !== sample.dims.join()) {
      throw new InvalidArgumentError({ name: 'modelOutput', expected: `a tensor of the sample's shape [${sample.dims.join(', ')}]`, actual: `[${modelOutput.dims.join(', ')}]` });
    }
    const previous = timestep - this.stepSize;
    const alpha = this.alphasCumprod[timestep]!;
    const alphaPrevious = previous >= 0 ? this.alphasCumprod[previous]! : this.config.set_alpha_to_one ? 1 : this.alphasCumprod[0]!;
    const [signal, noise] = [Math.sqrt(alpha), Math.sqrt(1 - alpha)];
    const [signalPrevious, noisePrevious] = [Math.sqrt(alphaPrevious), Math.sqrt(1 - alphaPrevious)];
    const next = new Float32Array(sample.data.length);
    const original = new Float32Array(sample.data.length);
    for (let i = 0; i < next.length; i++) {
      const x = sample.data[i]!;
      const out = modelOutput.data[i]!;
      // v-prediction (Salimans & Ho 2022): v = √ᾱ ε − √(1−ᾱ) x₀, so x₀ = √ᾱ x − √(1−ᾱ) v and ε = √ᾱ v + √(1−ᾱ) x.
      const epsilon = this.predictionType === 'epsilon' ? out : signal * out + noise * x;
      const x0 = this.predictionType === 'epsilon' ? (x - noise * out) / signal : signal * x - noise * out;
      original[i] = x0;
      next[i] = signalPrevious * x0 + noisePrevious * epsilon;
    }
    return { prevSample: createTensor(sample.dims, next), predOriginalSample: createTensor(sample.dims, original) };
  }

  /** The forward process q(x_t | x₀) (Ho et al. 2020, eq. 4), one timestep per batch item. */
  addNoise(original: Tensor<Float32Array>, noise: Tensor<Float32Array>, timesteps: readonly number[]): Tensor<Float32Array> {
    const batch = original.dims[0]!;
    const perItem = original.data.length / batch;
    const out = new Float32Array(original.data.length);
    for (let b = 0; b < batch; b++) {
      const alpha = this.alphasCumprod[timesteps[Math.min(b, timesteps.length - 1)]!]!;
      for (let i = b * perItem; i < (b + 1) * perItem; i++) out[i] = Math.sqrt(alpha) * original.data[i]! + Math.sqrt(1 - alpha) * noise.data[i]!;
    }
    return createTensor(original.dims, out);
  }
}

/**
 * The registry plugin: creates a {@link PlainDdimScheduler} for `["diffusers", "DDIMScheduler"]`
 * slots. Priority 10, so that it wins over `@latentkit/schedulers` (priority 0) where both are registered.
 *
 * @example
 * ```ts
 * const registry = new PluginRegistry();
 * register(registry);
 * const pipeline = await StableDiffusionPipeline.fromPretrained(modelPath, { registry });
 * ```
 */
export const plainDdimPlugin: Plugin<Scheduler> = Object.freeze({
  name: 'example-plain-ddim',
  specificationVersion: 'v1',
  kind: 'scheduler',
  priority: 10,
  supports(entry: ComponentEntry) {
    return entry.className === 'DDIMScheduler' || { reason: `creates DDIMScheduler slots only, not ${JSON.stringify([entry.library, entry.className])}` };
  },
  create(source: ComponentSource) {
    return new PlainDdimScheduler((source.config ?? {}) as PlainDdimConfig);
  },
});

/**
 * Registers {@link plainDdimPlugin} (idempotent).
 *
 * @example
 * ```ts
 * register(); // the process-wide registry
 * ```
 */
export function register(target: PluginRegistry = defaultRegistry): PluginRegistry {
  return target.register(plainDdimPlugin);
}
