/**
 * Single-step DPM-Solver / DPM-Solver++ (Lu et al. 2022, Algorithms 1–2; Lu et al. 2022b),
 * diffusers' `DPMSolverSinglestepScheduler` ("DPM++ 2S"): the steps are grouped by an order
 * list (e.g. 1, 2, 1, 2, …) and an order-k group re-uses the sample at its start.
 */
import { InvalidArgumentError, createTensor, type SchedulerStepOutput, type StepOptions, type Tensor, type SetTimestepsOptions } from '@latentkit/core';
import type { SchedulerOptions } from './scheduler-base';
import { SOLVER_SCHEDULER_DEFAULTS, SolverSchedulerBase, noiseLevel, type SolverSchedulerConfig } from './solver-base';

/** `DPMSolverSinglestepScheduler`'s config (diffusers' keys and defaults, plus `use_exponential_sigmas`). */
export interface DPMSolverSinglestepSchedulerConfig extends SolverSchedulerConfig {
  algorithm_type: 'dpmsolver++' | 'dpmsolver';
  solver_type: 'midpoint' | 'heun';
  lambda_min_clipped: number | string;
  variance_type: null;
  /**
   * The σ after the last step: σ of the first training step with diffusers 0.25's order list
   * (`'sigma_min'`), or 0 reached by a first-order step (`'zero'`, diffusers ≥ 0.32's default).
   */
  final_sigmas_type: 'sigma_min' | 'zero';
}

/**
 * `DPMSolverSinglestepScheduler`'s defaults (diffusers 0.25), used for every key a config leaves out.
 *
 * @example
 * ```ts
 * new DPMSolverSinglestepScheduler({ ...DPM_SOLVER_SINGLESTEP_DEFAULTS, beta_schedule: 'scaled_linear' });
 * ```
 */
export const DPM_SOLVER_SINGLESTEP_DEFAULTS: DPMSolverSinglestepSchedulerConfig = {
  ...SOLVER_SCHEDULER_DEFAULTS,
  algorithm_type: 'dpmsolver++',
  solver_type: 'midpoint',
  lambda_min_clipped: -Infinity,
  variance_type: null,
  final_sigmas_type: 'sigma_min',
};

const f32 = Math.fround;

/**
 * The orders of the steps of an n-step run: groups 1, 2(, 3) repeated, ending in lower orders
 * when `lower_order_final` (diffusers' `get_order_list`). `finalSigmas` picks the diffusers
 * release: `'sigma_min'` as diffusers 0.25 (an even second-order run ends 1, 2); `'zero'` as
 * diffusers ≥ 0.32 (an even second-order run ends 1, 1 — the fix of diffusers#6953 — and the
 * step to σ = 0 is always first order); left out, as diffusers 0.27–0.31 (ends 1, 1).
 *
 * @example
 * ```ts
 * singlestepOrders(4, 2, true, 'sigma_min'); // [1, 2, 1, 2]
 * singlestepOrders(4, 2, true, 'zero'); // [1, 2, 1, 1]
 * ```
 */
export function singlestepOrders(steps: number, order: number, lowerOrderFinal: boolean, finalSigmas?: 'sigma_min' | 'zero'): number[] {
  const orders = singlestepOrderGroups(steps, order, lowerOrderFinal, finalSigmas !== 'sigma_min');
  if (finalSigmas === 'zero' && orders.length > 0) orders[orders.length - 1] = 1;
  return orders;
}

function singlestepOrderGroups(steps: number, order: number, lowerOrderFinal: boolean, evenEndsFirstOrder: boolean): number[] {
  const repeat = (pattern: number[], times: number): number[] => Array.from({ length: Math.max(times, 0) }, () => pattern).flat();
  if (order === 1) return repeat([1], steps);
  if (!lowerOrderFinal) return repeat(order === 3 ? [1, 2, 3] : [1, 2], Math.floor(steps / order));
  if (order === 3) {
    if (steps % 3 === 0) return [...repeat([1, 2, 3], steps / 3 - 1), 1, 2, 1];
    if (steps % 3 === 1) return [...repeat([1, 2, 3], Math.floor(steps / 3)), 1];
    return [...repeat([1, 2, 3], Math.floor(steps / 3)), 1, 2];
  }
  if (steps % 2 === 0) return evenEndsFirstOrder ? [...repeat([1, 2], steps / 2 - 1), 1, 1] : repeat([1, 2], steps / 2);
  return [...repeat([1, 2], Math.floor(steps / 2)), 1];
}

/**
 * DPM-Solver single-step sampler.
 *
 * @example
 * ```ts
 * const scheduler = new DPMSolverSinglestepScheduler({ ...unetSchedulerConfig, solver_order: 2 }); // "DPM++ 2S"
 * scheduler.setTimesteps(20);
 * ```
 */
export class DPMSolverSinglestepScheduler extends SolverSchedulerBase<DPMSolverSinglestepSchedulerConfig> {
  readonly order = 1;
  private orders: number[] = [];
  /** The sample at the start of the current order group. */
  private groupStart: Float32Array | undefined;

  constructor(config?: Readonly<Record<string, unknown>>, options?: SchedulerOptions) {
    super('DPMSolverSinglestepScheduler', config, DPM_SOLVER_SINGLESTEP_DEFAULTS, options);
    if (this.config.algorithm_type !== 'dpmsolver++' && this.config.algorithm_type !== 'dpmsolver') {
      throw new InvalidArgumentError({ name: 'DPMSolverSinglestepScheduler config.algorithm_type', expected: "'dpmsolver++' | 'dpmsolver'", actual: this.config.algorithm_type });
    }
    if (this.config.solver_type !== 'midpoint' && this.config.solver_type !== 'heun') {
      throw new InvalidArgumentError({ name: 'DPMSolverSinglestepScheduler config.solver_type', expected: "'midpoint' | 'heun'", actual: this.config.solver_type });
    }
    if (this.config.variance_type !== null) {
      throw new InvalidArgumentError({ name: 'DPMSolverSinglestepScheduler config.variance_type', expected: 'null (learned-variance UNets are not supported)', actual: this.config.variance_type });
    }
    const finalSigmas = this.config.final_sigmas_type;
    if (finalSigmas !== 'sigma_min' && finalSigmas !== 'zero') {
      throw new InvalidArgumentError({ name: 'DPMSolverSinglestepScheduler config.final_sigmas_type', expected: "'sigma_min' | 'zero'", actual: finalSigmas });
    }
    if (finalSigmas === 'zero' && this.config.algorithm_type !== 'dpmsolver++') {
      throw new InvalidArgumentError({
        name: 'DPMSolverSinglestepScheduler config.final_sigmas_type',
        expected: "'sigma_min' with algorithm_type 'dpmsolver' (a step to σ = 0 needs data prediction)",
        actual: finalSigmas,
        hint: "use algorithm_type 'dpmsolver++', or final_sigmas_type 'sigma_min'",
      });
    }
  }

  setTimesteps(numInferenceSteps: number, options?: SetTimestepsOptions): void {
    this.refuseCustomSchedule(options);
    const finalSigmas = this.config.final_sigmas_type;
    const lastTimestep = this.config.num_train_timesteps - this.stepsBelowLambda(this.config.lambda_min_clipped);
    this.buildSchedule(numInferenceSteps, lastTimestep, finalSigmas === 'zero');
    // diffusers forces lower_order_final when n is not a multiple of the order, and with a final σ of 0.
    const lowerFinal = this.config.lower_order_final || this.numInferenceSteps! % this.config.solver_order !== 0 || finalSigmas === 'zero';
    this.orders = singlestepOrders(this.numInferenceSteps!, this.config.solver_order, lowerFinal, finalSigmas);
    this.groupStart = undefined;
  }

  /**
   * One step of the current group: order 1 from the group start (DPM-Solver++ eq. 8), order 2
   * (Algorithm 1 with r = h₀/h) or 3 (Algorithm 2) from the group start using the outputs
   * evaluated inside the group.
   */
  step(modelOutput: Tensor<Float32Array>, timestep: number, sample: Tensor<Float32Array>, _options?: StepOptions): SchedulerStepOutput {
    const index = this.beginStep(modelOutput, timestep, sample);
    const x = sample.data;
    const size = x.length;
    const converted = this.pushHistory(size);
    const plusPlus = this.config.algorithm_type === 'dpmsolver++';
    if (plusPlus) this.toDataPrediction(modelOutput, x, this.sigmas[index]!, converted);
    else this.toNoisePrediction(modelOutput, x, this.sigmas[index]!, converted);
    let order = this.orders[index] ?? 1;
    // img2img may start inside a group: fall back to the orders the history supports.
    while (this.history[this.history.length - order] === undefined) order--;
    if (order === 1) {
      this.groupStart = this.reusable('group start', size);
      this.groupStart.set(x);
    }
    const prev = this.update(order, index, this.groupStart!);
    this.stepIndex = index + 1;
    return { prevSample: createTensor(sample.dims, prev), predOriginalSample: plusPlus ? createTensor(sample.dims, Float32Array.from(converted)) : undefined };
  }

  private update(order: number, index: number, start: Float32Array): Float32Array {
    const plusPlus = this.config.algorithm_type === 'dpmsolver++';
    const midpoint = this.config.solver_type === 'midpoint';
    const target = noiseLevel(this.sigmas[index + 1]!);
    const origin = noiseLevel(this.sigmas[index + 1 - order]!);
    const h = f32(target.lambda - origin.lambda);
    const expMinusH = f32(Math.exp(-h));
    const expH = f32(Math.exp(h));
    const cx = plusPlus ? f32(target.sigma / origin.sigma) : f32(target.alpha / origin.alpha);
    const c0 = plusPlus ? -f32(target.alpha * f32(expMinusH - 1)) : -f32(target.sigma * f32(expH - 1));
    // The coefficient of the first difference term in the midpoint and Heun forms.
    const cHalf = f32(0.5 * c0);
    const cHeun = plusPlus ? f32(target.alpha * f32(f32(f32(expMinusH - 1) / h) + 1)) : -f32(target.sigma * f32(f32(f32(expH - 1) / h) - 1));
    const m = this.history;
    const size = start.length;
    const out = new Float32Array(size);
    if (order === 1) {
      const m0 = m[m.length - 1]!;
      for (let i = 0; i < size; i++) out[i] = f32(cx * start[i]!) + f32(c0 * m0[i]!);
      return out;
    }
    const s0 = noiseLevel(this.sigmas[index]!);
    if (order === 2) {
      const [m1, m0] = [m[m.length - 2]!, m[m.length - 1]!];
      const r0 = f32(f32(s0.lambda - origin.lambda) / h);
      const inverseR0 = f32(1 / r0);
      // Midpoint: half the D0 coefficient on D1 (DPM-Solver++ Algorithm 1 with r = ½ written for any r).
      const c1 = midpoint ? cHalf : cHeun;
      for (let i = 0; i < size; i++) {
        const d1 = f32(inverseR0 * f32(m0[i]! - m1[i]!));
        out[i] = f32(f32(cx * start[i]!) + f32(c0 * m1[i]!)) + f32(c1 * d1);
      }
      return out;
    }
    const [m2, m1, m0] = [m[m.length - 3]!, m[m.length - 2]!, m[m.length - 1]!];
    const s1 = noiseLevel(this.sigmas[index - 1]!);
    const r0 = f32(f32(s0.lambda - origin.lambda) / h);
    const r1 = f32(f32(s1.lambda - origin.lambda) / h);
    const c2 = plusPlus
      ? -f32(target.alpha * f32(f32(f32(f32(expMinusH - 1) + h) / f32(h * h)) - 0.5))
      : -f32(target.sigma * f32(f32(f32(f32(expH - 1) - h) / f32(h * h)) - 0.5));
    const inverseR0 = f32(1 / r0);
    const inverseR1 = f32(1 / r1);
    const difference = f32(r0 - r1);
    for (let i = 0; i < size; i++) {
      const d10 = f32(inverseR1 * f32(m1[i]! - m2[i]!));
      const d11 = f32(inverseR0 * f32(m0[i]! - m2[i]!));
      const base = f32(f32(cx * start[i]!) + f32(c0 * m2[i]!));
      if (midpoint) out[i] = base + f32(cHeun * d11);
      else {
        const d1 = f32(f32(f32(r0 * d10) - f32(r1 * d11)) / difference);
        const d2 = f32(f32(2 * f32(d11 - d10)) / difference);
        out[i] = f32(base + f32(cHeun * d1)) + f32(c2 * d2);
      }
    }
    return out;
  }
}
