/**
 * Ancestral DPM-Solver-2 in σ, diffusers' `KDPM2AncestralDiscreteScheduler` ("DPM2 a"): the
 * KDPM2 midpoint step aimed at σ_down, then fresh noise of scale σ_up (σ_down² + σ_up² = σ_next²).
 */
import type { SchedulerStepOutput, StepOptions, Tensor } from '@latentkit/core';
import { KDPM2SchedulerBase } from './kdpm2-scheduler-base';
import { interleaveRepeat, logMidpoints } from './kdpm2-sigmas';
import type { SchedulerOptions } from './scheduler-base';
import { KDPM2_DISCRETE_DEFAULTS, type KDPM2DiscreteSchedulerConfig } from './scheduling-k-dpm-2-discrete';

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
export class KDPM2AncestralDiscreteScheduler extends KDPM2SchedulerBase {
  private sigmasUp: Float32Array<ArrayBufferLike> = new Float32Array(0);
  private sigmasDown: Float32Array<ArrayBufferLike> = new Float32Array(0);

  constructor(config?: Readonly<Record<string, unknown>>, options?: SchedulerOptions) {
    super('KDPM2AncestralDiscreteScheduler', config, KDPM2_ANCESTRAL_DISCRETE_DEFAULTS, options);
  }

  /** σ_up, σ_down of each step (σ_down² + σ_up² = σ_next²) and σ_mid = √(σ·σ_down); the last two midpoints are 0. */
  protected midpointsOf(main: Float32Array): { midpoints: Float32Array; timestepOffset: 0 } {
    const up = new Float32Array(main.length);
    const down = new Float32Array(main.length);
    for (let i = 0; i < main.length; i++) {
      const s2 = f32(main[i]! * main[i]!);
      const next = i + 1 < main.length ? main[i + 1]! : 0;
      const n2 = f32(next * next);
      up[i] = Math.sqrt(f32(f32(n2 * f32(s2 - n2)) / s2));
      down[i] = i === main.length - 1 ? 0 : Math.sqrt(f32(n2 - f32(up[i]! * up[i]!)));
    }
    const midpoints = logMidpoints(main, down);
    midpoints.fill(0, midpoints.length - 2);
    this.sigmasUp = interleaveRepeat(up);
    this.sigmasDown = interleaveRepeat(down);
    return { midpoints, timestepOffset: 0 };
  }

  protected override sigmaForInput(index: number): number {
    return this.intervalStart === undefined ? this.sigmas[index]! : this.sigmasMidpoint[index - 1]!;
  }

  /**
   * First call: x_mid = x + d·(σ_mid − σ). Second call: x_next = x + d_mid·(σ_down − σ) + σ_up·z.
   * Noise is drawn at both calls, as diffusers does, and used at the second.
   */
  step(modelOutput: Tensor<Float32Array>, timestep: number, sample: Tensor<Float32Array>, options: StepOptions = {}): SchedulerStepOutput {
    const index = this.beginStep(modelOutput, timestep, sample);
    const generator = this.requireGenerator(options, 'adds fresh noise after each midpoint step (ancestral sampling)');
    const at = this.intervalStart === undefined ? index : index - 1;
    const noise = this.drawNoise(generator, sample.dims, sample.data.length);
    const sigmas = { sigma: this.sigmas[at]!, sigmaMidpoint: this.sigmasMidpoint[at]!, target: this.sigmasDown[index - 1]! };
    const result = this.intervalStep(modelOutput, sample, sigmas, { values: noise, scale: this.sigmasUp[at]! });
    this.stepIndex = index + 1;
    return result;
  }
}
