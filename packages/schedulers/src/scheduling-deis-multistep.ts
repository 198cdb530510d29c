/**
 * DEIS: diffusion exponential integrator sampler (Zhang & Chen 2023, "Fast Sampling of Diffusion
 * Models with Exponential Integrator"), multistep, orders 1–3, diffusers'
 * `DEISMultistepScheduler`: ε̂ is extrapolated by a Lagrange polynomial in log ρ (ρ = σ/α) and
 * integrated exactly over the step.
 */
import { InvalidArgumentError, createTensor, type SchedulerStepOutput, type StepOptions, type Tensor, type SetTimestepsOptions } from '@latentkit/core';
import type { SchedulerOptions } from './scheduler-base';
import { SOLVER_SCHEDULER_DEFAULTS, SolverSchedulerBase, noiseLevel, type SolverSchedulerConfig } from './solver-base';

/** `DEISMultistepScheduler`'s config (diffusers' keys and defaults, plus `use_exponential_sigmas`). */
export interface DEISMultistepSchedulerConfig extends SolverSchedulerConfig {
  algorithm_type: 'deis';
  solver_type: 'logrho';
}

/**
 * `DEISMultistepScheduler`'s defaults (diffusers 0.25), used for every key a config leaves out.
 *
 * @example
 * ```ts
 * new DEISMultistepScheduler({ ...DEIS_MULTISTEP_DEFAULTS, beta_schedule: 'scaled_linear' });
 * ```
 */
export const DEIS_MULTISTEP_DEFAULTS: DEISMultistepSchedulerConfig = {
  ...SOLVER_SCHEDULER_DEFAULTS,
  algorithm_type: 'deis',
  solver_type: 'logrho',
};

const f32 = Math.fround;

/** ∫ ℓ(τ) dτ (antiderivative at t) of the linear Lagrange basis in log τ through b (1) and c (0). */
function integralOrder2(t: number, b: number, c: number): number {
  return (t * (-Math.log(c) + Math.log(t) - 1)) / (Math.log(b) - Math.log(c));
}

/** Antiderivative at t of the quadratic Lagrange basis in log τ through b (1), c and d (0). */
function integralOrder3(t: number, b: number, c: number, d: number): number {
  const [lt, lb, lc, ld] = [Math.log(t), Math.log(b), Math.log(c), Math.log(d)];
  const numerator = t * (lc * (ld - lt + 1) - ld * lt + ld + lt ** 2 - 2 * lt + 2);
  return numerator / ((lb - lc) * (lb - ld));
}

/**
 * DEIS multistep sampler ("DEIS").
 *
 * @example
 * ```ts
 * const scheduler = new DEISMultistepScheduler(unetSchedulerConfig);
 * scheduler.setTimesteps(20);
 * ```
 */
export class DEISMultistepScheduler extends SolverSchedulerBase<DEISMultistepSchedulerConfig> {
  readonly order = 1;

  constructor(config?: Readonly<Record<string, unknown>>, options?: SchedulerOptions) {
    super('DEISMultistepScheduler', config, DEIS_MULTISTEP_DEFAULTS, options);
    if (this.config.algorithm_type !== 'deis') {
      throw new InvalidArgumentError({ name: 'DEISMultistepScheduler config.algorithm_type', expected: "'deis'", actual: this.config.algorithm_type });
    }
    if (this.config.solver_type !== 'logrho') {
      throw new InvalidArgumentError({ name: 'DEISMultistepScheduler config.solver_type', expected: "'logrho'", actual: this.config.solver_type });
    }
  }

  setTimesteps(numInferenceSteps: number, options?: SetTimestepsOptions): void {
    this.refuseCustomSchedule(options);
    this.buildSchedule(numInferenceSteps);
  }

  /**
   * x_t = α_t·(x_s/α_s + Σ_k C_k·ε̂_k) with C_k = ∫_{ρ_s}^{ρ_t} ℓ_k(ρ) dρ, ℓ_k the Lagrange basis
   * in log ρ through the last `order` ρ (Zhang & Chen 2023, eq. 14 with the ρ-parameterisation).
   */
  step(modelOutput: Tensor<Float32Array>, timestep: number, sample: Tensor<Float32Array>, _options?: StepOptions): SchedulerStepOutput {
    const index = this.beginStep(modelOutput, timestep, sample);
    const c = this.config;
    const count = this.schedule.length;
    const lowerFinal = index === count - 1 && c.lower_order_final && count < 15;
    const lowerSecond = index === count - 2 && c.lower_order_final && count < 15;
    const x = sample.data;
    const size = x.length;
    this.toNoisePrediction(modelOutput, x, this.sigmas[index]!, this.pushHistory(size));
    let order: number;
    if (c.solver_order === 1 || this.lowerOrderCount < 1 || lowerFinal) order = 1;
    else if (c.solver_order === 2 || this.lowerOrderCount < 2 || lowerSecond) order = 2;
    else order = 3;

    const target = noiseLevel(this.sigmas[index + 1]!);
    const s0 = noiseLevel(this.sigmas[index]!);
    const m = this.history;
    const m0 = m[m.length - 1]!;
    const out = new Float32Array(size);
    if (order === 1) {
      // The exponential-integrator Euler step: α_t/α_s·x − σ_t(e^h − 1)·ε̂.
      const h = f32(target.lambda - s0.lambda);
      const cx = f32(target.alpha / s0.alpha);
      const c0 = f32(target.sigma * f32(f32(Math.exp(h)) - 1));
      for (let i = 0; i < size; i++) out[i] = f32(cx * x[i]!) - f32(c0 * m0[i]!);
    } else {
      const rho = (level: ReturnType<typeof noiseLevel>): number => f32(level.sigma / level.alpha);
      const s1 = noiseLevel(this.sigmas[index - 1]!);
      const [rt, r0, r1] = [rho(target), rho(s0), rho(s1)];
      const inverseAlpha = f32(1 / s0.alpha);
      const m1 = m[m.length - 2]!;
      if (order === 2) {
        const c1 = integralOrder2(rt, r0, r1) - integralOrder2(r0, r0, r1);
        const c2 = integralOrder2(rt, r1, r0) - integralOrder2(r0, r1, r0);
        const [k1, k2] = [f32(c1), f32(c2)];
        for (let i = 0; i < size; i++) out[i] = f32(target.alpha * f32(f32(f32(x[i]! * inverseAlpha) + f32(k1 * m0[i]!)) + f32(k2 * m1[i]!)));
      } else {
        const s2 = noiseLevel(this.sigmas[index - 2]!);
        const r2 = rho(s2);
        const m2 = m[m.length - 3]!;
        const k1 = f32(integralOrder3(rt, r0, r1, r2) - integralOrder3(r0, r0, r1, r2));
        const k2 = f32(integralOrder3(rt, r1, r2, r0) - integralOrder3(r0, r1, r2, r0));
        const k3 = f32(integralOrder3(rt, r2, r0, r1) - integralOrder3(r0, r2, r0, r1));
        for (let i = 0; i < size; i++) {
          out[i] = f32(target.alpha * f32(f32(f32(f32(x[i]! * inverseAlpha) + f32(k1 * m0[i]!)) + f32(k2 * m1[i]!)) + f32(k3 * m2[i]!)));
        }
      }
    }
    if (this.lowerOrderCount < c.solver_order) this.lowerOrderCount++;
    this.stepIndex = index + 1;
    return { prevSample: createTensor(sample.dims, out) };
  }
}
