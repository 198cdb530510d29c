/**
 * DPM-Solver (Lu et al. 2022) and DPM-Solver++ (Lu et al. 2022b, "DPM-Solver++: Fast Solver for
 * Guided Sampling"), multistep, orders 1–3, with the SDE variants: diffusers'
 * `DPMSolverMultistepScheduler` ("DPM++ 2M", "DPM++ 2M SDE", "DPM++ 3M").
 */
import { InvalidArgumentError, createTensor, type SchedulerStepOutput, type StepOptions, type Tensor, type SetTimestepsOptions } from '@latentkit/core';
import type { SchedulerOptions } from './scheduler-base';
import { SOLVER_SCHEDULER_DEFAULTS, SolverSchedulerBase, noiseLevel, type SolverSchedulerConfig } from './solver-base';

/** DPM-Solver's algorithms: data (`++`) or noise prediction, ODE or SDE. */
export const DPM_ALGORITHM_TYPES = ['dpmsolver++', 'sde-dpmsolver++', 'dpmsolver', 'sde-dpmsolver'] as const;
/** The second-order forms of DPM-Solver (Lu et al. 2022, Algorithm 1 midpoint; Heun). */
export const DPM_SOLVER_TYPES = ['midpoint', 'heun'] as const;

/** `DPMSolverMultistepScheduler`'s config (diffusers 0.25 keys and defaults, plus `use_exponential_sigmas`). */
export interface DPMSolverMultistepSchedulerConfig extends SolverSchedulerConfig {
  algorithm_type: (typeof DPM_ALGORITHM_TYPES)[number];
  solver_type: (typeof DPM_SOLVER_TYPES)[number];
  euler_at_final: boolean;
  use_lu_lambdas: boolean;
  lambda_min_clipped: number | string;
  variance_type: null;
  /** The σ after the last step: σ of the first training step (diffusers 0.25), or 0 (later diffusers' option). */
  final_sigmas_type: 'sigma_min' | 'zero';
}

/**
 * `DPMSolverMultistepScheduler`'s defaults (diffusers 0.25), used for every key a config leaves out.
 *
 * @example
 * ```ts
 * new DPMSolverMultistepScheduler({ ...DPM_SOLVER_MULTISTEP_DEFAULTS, beta_schedule: 'scaled_linear' });
 * ```
 */
export const DPM_SOLVER_MULTISTEP_DEFAULTS: DPMSolverMultistepSchedulerConfig = {
  ...SOLVER_SCHEDULER_DEFAULTS,
  algorithm_type: 'dpmsolver++',
  solver_type: 'midpoint',
  euler_at_final: false,
  use_lu_lambdas: false,
  lambda_min_clipped: -Infinity,
  variance_type: null,
  final_sigmas_type: 'sigma_min',
};

const f32 = Math.fround;

/**
 * DPM-Solver multistep sampler. `sde-*` algorithms draw noise from `options.generator` at every step.
 *
 * @example
 * ```ts
 * const scheduler = new DPMSolverMultistepScheduler({ ...unetSchedulerConfig, use_karras_sigmas: true }); // "DPM++ 2M Karras"
 * scheduler.setTimesteps(25);
 * ```
 */
export class DPMSolverMultistepScheduler extends SolverSchedulerBase<DPMSolverMultistepSchedulerConfig> {
  readonly order = 1;

  constructor(config?: Readonly<Record<string, unknown>>, options?: SchedulerOptions) {
    super('DPMSolverMultistepScheduler', config, DPM_SOLVER_MULTISTEP_DEFAULTS, options);
    const c = this.config;
    if (!DPM_ALGORITHM_TYPES.includes(c.algorithm_type)) {
      // diffusers maps the deprecated 'deis' here to 'dpmsolver++'; latentkit asks for the real class.
      throw new InvalidArgumentError({
        name: 'DPMSolverMultistepScheduler config.algorithm_type',
        expected: DPM_ALGORITHM_TYPES.map((a) => `'${a}'`).join(' | '),
        actual: c.algorithm_type,
        hint: c.algorithm_type === ('deis' as never) ? 'use DEISMultistepScheduler' : undefined,
      });
    }
    if (!DPM_SOLVER_TYPES.includes(c.solver_type)) {
      throw new InvalidArgumentError({ name: 'DPMSolverMultistepScheduler config.solver_type', expected: "'midpoint' | 'heun'", actual: c.solver_type });
    }
    if (c.algorithm_type.startsWith('sde-') && c.solver_order === 3) {
      throw new InvalidArgumentError({ name: 'DPMSolverMultistepScheduler config.solver_order', expected: '1 or 2 with an SDE algorithm', actual: 3, hint: 'diffusers has no third-order SDE solver' });
    }
    if (c.use_lu_lambdas) this.refuse('use_lu_lambdas', true, 'false (Lu-lambda spacing is not implemented; use use_karras_sigmas)');
    if (c.variance_type !== null) this.refuse('variance_type', c.variance_type, 'null (learned-variance UNets are not supported)');
    if (c.final_sigmas_type !== 'sigma_min' && c.final_sigmas_type !== 'zero') this.refuse('final_sigmas_type', c.final_sigmas_type, "'sigma_min' | 'zero'");
    if (c.final_sigmas_type === 'zero' && !c.algorithm_type.endsWith('dpmsolver++')) {
      this.refuse('final_sigmas_type', 'zero', "'sigma_min' with the noise-prediction algorithms (a step to σ = 0 needs data prediction: use dpmsolver++)");
    }
  }

  private refuse(key: string, value: unknown, expected: string): never {
    throw new InvalidArgumentError({ name: `DPMSolverMultistepScheduler config.${key}`, expected, actual: value });
  }

  setTimesteps(numInferenceSteps: number, options?: SetTimestepsOptions): void {
    this.refuseCustomSchedule(options);
    const lastTimestep = this.config.num_train_timesteps - this.stepsBelowLambda(this.config.lambda_min_clipped);
    this.buildSchedule(numInferenceSteps, lastTimestep, this.config.final_sigmas_type === 'zero');
  }

  /**
   * One multistep update to the next σ, using as many past outputs as the warm-up allows:
   * DPM-Solver++ eqs. 8 (1st order), 15 (2M) and App. B (3M); DPM-Solver eqs. 3.7, 3.8 and App.
   * B; the SDE variants from DPM-Solver++ §5 (stochastic terms with noise z from the generator).
   */
  step(modelOutput: Tensor<Float32Array>, timestep: number, sample: Tensor<Float32Array>, options: StepOptions = {}): SchedulerStepOutput {
    const index = this.beginStep(modelOutput, timestep, sample);
    const c = this.config;
    const count = this.schedule.length;
    // The step to σ = 0 is always first order (later diffusers' rule for final_sigmas_type 'zero').
    const lowerFinal = index === count - 1 && (c.euler_at_final || (c.lower_order_final && count < 15) || c.final_sigmas_type === 'zero');
    const lowerSecond = index === count - 2 && c.lower_order_final && count < 15;
    const x = sample.data;
    const size = x.length;
    const converted = this.pushHistory(size);
    const dataPrediction = c.algorithm_type.endsWith('dpmsolver++');
    if (dataPrediction) this.toDataPrediction(modelOutput, x, this.sigmas[index]!, converted);
    else this.toNoisePrediction(modelOutput, x, this.sigmas[index]!, converted);
    const noise = c.algorithm_type.startsWith('sde-')
      ? this.drawNoise(this.requireGenerator(options, `(${c.algorithm_type}) draws noise at every step`), sample.dims, size)
      : undefined;
    let order: number;
    if (c.solver_order === 1 || this.lowerOrderCount < 1 || lowerFinal) order = 1;
    else if (c.solver_order === 2 || this.lowerOrderCount < 2 || lowerSecond) order = 2;
    else order = 3;
    const prev = this.update(order, index, x, noise);
    if (this.lowerOrderCount < c.solver_order) this.lowerOrderCount++;
    this.stepIndex = index + 1;
    return {
      prevSample: createTensor(sample.dims, prev),
      predOriginalSample: dataPrediction ? createTensor(sample.dims, Float32Array.from(converted)) : undefined,
    };
  }

  private update(order: number, index: number, x: Float32Array, noise: Float32Array | undefined): Float32Array {
    const c = this.config;
    const target = noiseLevel(this.sigmas[index + 1]!);
    const s0 = noiseLevel(this.sigmas[index]!);
    const h = f32(target.lambda - s0.lambda);
    // Karras/exponential schedules repeat the last σ, so the final step has h = 0: the update is
    // the identity (the limit of every coefficient), where the Heun forms would divide 0 by 0.
    if (h === 0) return Float32Array.from(x);
    const history = this.history;
    const m0 = history[history.length - 1]!;
    const size = x.length;
    const out = new Float32Array(size);
    const sde = c.algorithm_type.startsWith('sde-');
    const plusPlus = c.algorithm_type.endsWith('dpmsolver++');
    // Coefficients of x, of D0 = m0, of D1 and of D2, and the noise scale.
    let cx: number, c0: number;
    let noiseScale = 0;
    const expMinusH = f32(Math.exp(-h));
    const expH = f32(Math.exp(h));
    if (plusPlus && !sde) {
      cx = f32(target.sigma / s0.sigma);
      c0 = -f32(target.alpha * f32(expMinusH - 1));
    } else if (plusPlus) {
      cx = f32(f32(target.sigma / s0.sigma) * expMinusH);
      c0 = f32(target.alpha * f32(1 - f32(Math.exp(f32(-2 * h)))));
      noiseScale = f32(target.sigma * f32(Math.sqrt(f32(1 - f32(Math.exp(f32(-2 * h)))))));
    } else if (!sde) {
      cx = f32(target.alpha / s0.alpha);
      c0 = -f32(target.sigma * f32(expH - 1));
    } else {
      cx = f32(target.alpha / s0.alpha);
      c0 = f32(-2 * f32(target.sigma * f32(expH - 1)));
      noiseScale = f32(target.sigma * f32(Math.sqrt(f32(f32(Math.exp(f32(2 * h))) - 1))));
    }
    if (order === 1) {
      for (let i = 0; i < size; i++) out[i] = f32(cx * x[i]!) + f32(c0 * m0[i]!);
    } else {
      const m1 = history[history.length - 2]!;
      const s1 = noiseLevel(this.sigmas[index - 1]!);
      const r0 = f32(f32(s0.lambda - s1.lambda) / h);
      const inverseR0 = f32(1 / r0);
      let c1: number;
      let c2 = 0;
      let m2: Float32Array | undefined;
      let r1 = 0;
      if (order === 2) {
        if (plusPlus && !sde) c1 = c.solver_type === 'midpoint' ? f32(-0.5 * f32(target.alpha * f32(expMinusH - 1))) : f32(target.alpha * f32(f32(f32(expMinusH - 1) / h) + 1));
        else if (plusPlus) c1 = c.solver_type === 'midpoint' ? f32(0.5 * c0) : f32(target.alpha * f32(f32(f32(1 - f32(Math.exp(f32(-2 * h)))) / f32(-2 * h)) + 1));
        else if (!sde) c1 = c.solver_type === 'midpoint' ? f32(-0.5 * f32(target.sigma * f32(expH - 1))) : -f32(target.sigma * f32(f32(f32(expH - 1) / h) - 1));
        else c1 = c.solver_type === 'midpoint' ? -f32(target.sigma * f32(expH - 1)) : f32(-2 * f32(target.sigma * f32(f32(f32(expH - 1) / h) - 1)));
      } else {
        m2 = history[history.length - 3]!;
        const s2 = noiseLevel(this.sigmas[index - 2]!);
        r1 = f32(f32(s1.lambda - s2.lambda) / h);
        if (plusPlus) {
          c1 = f32(target.alpha * f32(f32(f32(expMinusH - 1) / h) + 1));
          c2 = -f32(target.alpha * f32(f32(f32(f32(expMinusH - 1) + h) / f32(h * h)) - 0.5));
        } else {
          c1 = -f32(target.sigma * f32(f32(f32(expH - 1) / h) - 1));
          c2 = -f32(target.sigma * f32(f32(f32(f32(expH - 1) - h) / f32(h * h)) - 0.5));
        }
      }
      const inverseR1 = order === 3 ? f32(1 / r1) : 0;
      const weight = order === 3 ? f32(r0 / f32(r0 + r1)) : 0;
      const inverseSum = order === 3 ? f32(1 / f32(r0 + r1)) : 0;
      for (let i = 0; i < size; i++) {
        const d10 = f32(inverseR0 * f32(m0[i]! - m1[i]!));
        let value = f32(cx * x[i]!) + f32(c0 * m0[i]!);
        if (order === 2) value = f32(value) + f32(c1 * d10);
        else {
          const d11 = f32(inverseR1 * f32(m1[i]! - m2![i]!));
          const d1 = f32(d10 + f32(weight * f32(d10 - d11)));
          const d2 = f32(inverseSum * f32(d10 - d11));
          value = f32(f32(value) + f32(c1 * d1)) + f32(c2 * d2);
        }
        out[i] = value;
      }
    }
    if (noise) for (let i = 0; i < size; i++) out[i] = out[i]! + f32(noiseScale * noise[i]!);
    return out;
  }
}
