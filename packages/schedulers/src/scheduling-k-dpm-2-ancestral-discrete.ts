/**
 * Ancestral DPM-Solver-2 in σ, diffusers' `KDPM2AncestralDiscreteScheduler` ("DPM2 a"): the
 * KDPM2 midpoint step aimed at σ_down, then fresh noise of scale σ_up (σ_down² + σ_up² = σ_next²).
 */
import { createTensor, type SchedulerStepOutput, type SetTimestepsOptions, type StepOptions, type Tensor } from '@latentkit/core';
import { interleaveRepeat, logMidpoints } from './kdpm2-sigmas';
import type { SchedulerOptions } from './scheduler-base';
import { SigmaSchedulerBase } from './sigma-scheduler-base';
import { sigmaToTimestep } from './sigmas';
import { checkStepCount } from './timestep-spacing';
import type { KDPM2DiscreteSchedulerConfig } from './scheduling-k-dpm-2-discrete';
import { KDPM2_DISCRETE_DEFAULTS } from './scheduling-k-dpm-2-discrete';
import { predictOriginalSampleFromSigma } from './prediction';

/** `KDPM2AncestralDiscreteScheduler`'s config: the same keys and defaults as KDPM2's. */
export type KDPM2AncestralDiscreteSchedulerConfig = KDPM2DiscreteSchedulerConfig;
/**
 * `KDPM2AncestralDiscreteScheduler`'s defaults (diffusers 0.25), used for every key a config leaves out.
 *
 * @example
 * ```ts
 * new KDPM2AncestralDiscreteScheduler({ ...KDPM2_ANCESTRAL_DISCRETE_DEFAULTS, beta_schedule: 'scaled_linear' });
 * ```
 */
export const KDPM2_ANCESTRAL_DISCRETE_DEFAULTS: KDPM2AncestralDiscreteSchedulerConfig = { ...KDPM2_DISCRETE_DEFAULTS };

const f32 = Math.fround;

/**
 * KDPM2 ancestral sampler; the second evaluation of each interval draws noise from `options.generator`.
 *
 * @example
 * ```ts
 * const scheduler = new KDPM2AncestralDiscreteScheduler(unetSchedulerConfig);
 * scheduler.setTimesteps(20);
 * latents = scheduler.step(noisePred, t, latents, { generator }).prevSample;
 * ```
 */
export class KDPM2AncestralDiscreteScheduler extends SigmaSchedulerBase<KDPM2AncestralDiscreteSchedulerConfig> {
  readonly order = 2;
  private sigmasMidpoint: Float32Array<ArrayBufferLike> = new Float32Array(0);
  private sigmasUp: Float32Array<ArrayBufferLike> = new Float32Array(0);
  private sigmasDown: Float32Array<ArrayBufferLike> = new Float32Array(0);
  private intervalStart: Float32Array | undefined;

  constructor(config?: Readonly<Record<string, unknown>>, options?: SchedulerOptions) {
    super('KDPM2AncestralDiscreteScheduler', config, KDPM2_ANCESTRAL_DISCRETE_DEFAULTS, { ...options, predictionTypes: ['epsilon', 'v_prediction'] });
  }

  setTimesteps(numInferenceSteps: number, options?: SetTimestepsOptions): void {
    this.refuseCustomSchedule(options);
    const n = checkStepCount(this.className, numInferenceSteps, this.config.num_train_timesteps);
    const { timesteps, sigmas } = this.interpolatedSchedule(n, true, undefined, true);
    const main = Float32Array.from([...sigmas, 0]);
    const up = new Float32Array(main.length);
    const down = new Float32Array(main.length);
    for (let i = 0; i < main.length; i++) {
      const s2 = f32(main[i]! * main[i]!);
      const next = i + 1 < main.length ? main[i + 1]! : 0;
      const n2 = f32(next * next);
      up[i] = Math.sqrt(f32(f32(n2 * f32(s2 - n2)) / s2));
      down[i] = i === main.length - 1 ? 0 : Math.sqrt(f32(n2 - f32(up[i]! * up[i]!)));
    }
    // σ_mid = √(σ·σ_down); the last two are 0 (no midpoint after the final step).
    const midpoints = logMidpoints(main, down);
    midpoints.fill(0, midpoints.length - 2);
    this.sigmas = interleaveRepeat(main);
    this.sigmasMidpoint = interleaveRepeat(midpoints);
    this.sigmasUp = interleaveRepeat(up);
    this.sigmasDown = interleaveRepeat(down);
    const midpointTimesteps = [...midpoints].map((s) => f32(sigmaToTimestep(s, this.logSigmas)));
    this.schedule = Object.freeze([timesteps[0]!, ...timesteps.slice(1).flatMap((t, i) => [midpointTimesteps[i]!, t])]);
    this.numInferenceSteps = n;
    this.intervalStart = undefined;
    this.stepIndex = undefined;
    this.beginIndex = undefined;
  }

  get stateInFirstOrder(): boolean {
    return this.intervalStart === undefined;
  }

  protected override sigmaForInput(index: number): number {
    return this.intervalStart === undefined ? this.sigmas[index]! : this.sigmasMidpoint[index - 1]!;
  }

  /**
   * First call: x_mid = x + d·(σ_mid − σ). Second call: x_next = x + d_mid·(σ_down − σ) + σ_up·z.
   * Noise is drawn at both calls, as diffusers does, and used at the second.
   */
  step(modelOutput: Tensor<Float32Array>, timestep: number, sample: Tensor<Float32Array>, options: StepOptions = {}): SchedulerStepOutput {
    this.requireTimesteps('step');
    const index = this.currentStepIndex(timestep);
    this.checkStepInputs(modelOutput, sample);
    const first = this.intervalStart === undefined;
    const generator = this.requireGenerator(options, 'adds fresh noise after each midpoint step (ancestral sampling)');
    const at = first ? index : index - 1;
    const sigma = this.sigmas[at]!;
    const sigmaMidpoint = this.sigmasMidpoint[at]!;
    const sigmaUp = this.sigmasUp[at]!;
    const sigmaDown = this.sigmasDown[index - 1]!;
    const sigmaInput = first ? sigma : sigmaMidpoint;
    const x = sample.data;
    const model = modelOutput.data;
    const size = x.length;
    const noise = this.drawNoise(generator, sample.dims, size);
    const original = predictOriginalSampleFromSigma(this.config.prediction_type, sigmaInput, model, x);
    const prev = new Float32Array(size);
    if (first) {
      const dt = f32(sigmaMidpoint - sigma);
      for (let i = 0; i < size; i++) prev[i] = x[i]! + f32(f32(f32(x[i]! - original[i]!) / sigma) * dt);
      this.intervalStart = this.reusable('interval start', size);
      this.intervalStart.set(x);
    } else {
      const dt = f32(sigmaDown - sigma);
      const start = this.intervalStart!;
      for (let i = 0; i < size; i++) {
        prev[i] = f32(start[i]! + f32(f32(f32(x[i]! - original[i]!) / sigmaMidpoint) * dt)) + f32(noise[i]! * sigmaUp);
      }
      this.intervalStart = undefined;
    }
    this.stepIndex = index + 1;
    return { prevSample: createTensor(sample.dims, prev), predOriginalSample: createTensor(sample.dims, original) };
  }
}
