/**
 * UniPC (Zhao et al. 2023, "UniPC: A Unified Predictor-Corrector Framework for Fast Sampling of
 * Diffusion Models"), diffusers' `UniPCMultistepScheduler`: a UniP predictor of order p and a
 * UniC corrector that reuses the model evaluation at the predicted point (no extra evaluation).
 */
import { InvalidArgumentError, createTensor, type SchedulerStepOutput, type StepOptions, type Tensor, type SetTimestepsOptions } from '@latentkit/core';
import type { SchedulerOptions } from './scheduler-base';
import { SOLVER_SCHEDULER_DEFAULTS, SolverSchedulerBase, noiseLevel, type NoiseLevel, type SolverSchedulerConfig } from './solver-base';

/** `UniPCMultistepScheduler`'s config (diffusers' keys and defaults, plus `use_exponential_sigmas`). */
export interface UniPCMultistepSchedulerConfig extends SolverSchedulerConfig {
  predict_x0: boolean;
  solver_type: 'bh1' | 'bh2';
  disable_corrector: number[];
  solver_p: null;
}

/**
 * `UniPCMultistepScheduler`'s defaults (diffusers 0.25), used for every key a config leaves out.
 *
 * @example
 * ```ts
 * new UniPCMultistepScheduler({ ...UNIPC_MULTISTEP_DEFAULTS, beta_schedule: 'scaled_linear' });
 * ```
 */
export const UNIPC_MULTISTEP_DEFAULTS: UniPCMultistepSchedulerConfig = {
  ...SOLVER_SCHEDULER_DEFAULTS,
  predict_x0: true,
  solver_type: 'bh2',
  disable_corrector: [],
  solver_p: null,
};

const f32 = Math.fround;

/** Solves the small dense system A·x = b by Gaussian elimination with partial pivoting. */
function solve(matrix: number[][], rhs: number[]): number[] {
  const n = rhs.length;
  const a = matrix.map((row, i) => [...row.slice(0, n), rhs[i]!]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r]![col]!) > Math.abs(a[pivot]![col]!)) pivot = r;
    [a[col], a[pivot]] = [a[pivot]!, a[col]!];
    for (let r = col + 1; r < n; r++) {
      const factor = a[r]![col]! / a[col]![col]!;
      for (let k = col; k <= n; k++) a[r]![k]! -= factor * a[col]![k]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let sum = a[r]![n]!;
    for (let k = r + 1; k < n; k++) sum -= a[r]![k]! * x[k]!;
    x[r] = sum / a[r]![r]!;
  }
  return x;
}

/** The B(h)-weighted coefficients of UniPC's order-p update (Zhao et al. 2023, Algorithms 2–3). */
interface UpdateCoefficients {
  /** x coefficient and m0 coefficient of the first-order part. */
  cx: number;
  c0: number;
  /** −α_t·B(h) (data prediction) or −σ_t·B(h): the scale of the difference terms. */
  scale: number;
  /** r_k = (λ_{s_k} − λ_{s0})/h, then 1; R[i][k] = r_k^i; b_i = h·φ_{i+1}(h)·i!/B(h). */
  ratios: number[];
  rows: number[][];
  rhs: number[];
}

/**
 * UniPC multistep sampler ("UniPC").
 *
 * @example
 * ```ts
 * const scheduler = new UniPCMultistepScheduler(unetSchedulerConfig);
 * scheduler.setTimesteps(20);
 * ```
 */
export class UniPCMultistepScheduler extends SolverSchedulerBase<UniPCMultistepSchedulerConfig> {
  readonly order = 1;
  private lastSample: Float32Array | undefined;
  private thisOrder = 1;

  constructor(config?: Readonly<Record<string, unknown>>, options?: SchedulerOptions) {
    super('UniPCMultistepScheduler', config, UNIPC_MULTISTEP_DEFAULTS, options);
    const c = this.config;
    if (c.solver_type !== 'bh1' && c.solver_type !== 'bh2') {
      // diffusers maps DPM-Solver's solver types to bh2.
      if (['midpoint', 'heun', 'logrho'].includes(c.solver_type)) (this.config as UniPCMultistepSchedulerConfig).solver_type = 'bh2';
      else throw new InvalidArgumentError({ name: 'UniPCMultistepScheduler config.solver_type', expected: "'bh1' | 'bh2'", actual: c.solver_type });
    }
    if (c.solver_p !== null) {
      throw new InvalidArgumentError({ name: 'UniPCMultistepScheduler config.solver_p', expected: 'null', actual: c.solver_p, hint: 'a custom predictor scheduler is not supported; UniP is used' });
    }
    if (!Array.isArray(c.disable_corrector)) {
      throw new InvalidArgumentError({ name: 'UniPCMultistepScheduler config.disable_corrector', expected: 'an array of step indices', actual: c.disable_corrector });
    }
  }

  protected override maxSolverOrder(): number {
    return 6;
  }

  setTimesteps(numInferenceSteps: number, options?: SetTimestepsOptions): void {
    this.refuseCustomSchedule(options);
    this.buildSchedule(numInferenceSteps);
    this.lastSample = undefined;
    this.thisOrder = 1;
  }

  /** Corrects the incoming sample with UniC (if a previous prediction exists), then predicts with UniP. */
  step(modelOutput: Tensor<Float32Array>, timestep: number, sample: Tensor<Float32Array>, _options?: StepOptions): SchedulerStepOutput {
    const index = this.beginStep(modelOutput, timestep, sample);
    const c = this.config;
    const size = sample.data.length;
    const useCorrector = index > 0 && !c.disable_corrector.includes(index - 1) && this.lastSample !== undefined;
    // The converted output goes into the buffer the history will drop next, once UniC is done with it.
    const oldest = this.history[0];
    const converted = oldest?.length === size && !useCorrector ? oldest : this.reusable('converted', size);
    if (c.predict_x0) this.toDataPrediction(modelOutput, sample.data, this.sigmas[index]!, converted);
    else this.toNoisePrediction(modelOutput, sample.data, this.sigmas[index]!, converted);
    // The corrected sample (or a copy of the input) is kept as the next step's x_{s0}: two buffers alternate.
    const corrected = this.reusable(`last sample ${index % 2}`, size);
    if (useCorrector) this.corrector(converted, this.lastSample!, index, this.thisOrder, corrected);
    else corrected.set(sample.data);
    this.pushHistory(size).set(converted);
    const remaining = this.schedule.length - index;
    this.thisOrder = Math.min(c.lower_order_final ? Math.min(c.solver_order, remaining) : c.solver_order, this.lowerOrderCount + 1);
    this.lastSample = corrected;
    const prev = this.predictor(corrected, index, this.thisOrder);
    if (this.lowerOrderCount < c.solver_order) this.lowerOrderCount++;
    this.stepIndex = index + 1;
    return { prevSample: createTensor(sample.dims, prev) };
  }

  /**
   * The shared coefficients from s0 = σ[s0Index] to t = σ[targetIndex], with the previous
   * outputs at σ[s0Index − k·…] given by `pastIndices`.
   */
  private coefficients(target: NoiseLevel, s0: NoiseLevel, pastIndices: number[], order: number): UpdateCoefficients {
    const dataPrediction = this.config.predict_x0;
    const h = f32(target.lambda - s0.lambda);
    const ratios = pastIndices.map((k) => f32(f32(noiseLevel(this.sigmas[k]!).lambda - s0.lambda) / h));
    ratios.push(1);
    const hh = dataPrediction ? -h : h;
    const hPhi1 = f32(Math.expm1(hh)); // h·φ₁(h) = e^h − 1
    let hPhiK = f32(f32(hPhi1 / hh) - 1);
    const bh = this.config.solver_type === 'bh1' ? hh : f32(Math.expm1(hh));
    let factorial = 1;
    const rows: number[][] = [];
    const rhs: number[] = [];
    for (let i = 1; i <= order; i++) {
      rows.push(ratios.map((r) => f32(r ** (i - 1))));
      rhs.push(f32(f32(hPhiK * factorial) / bh));
      factorial *= i + 1;
      hPhiK = f32(f32(hPhiK / hh) - f32(1 / factorial));
    }
    return dataPrediction
      ? { cx: f32(target.sigma / s0.sigma), c0: -f32(target.alpha * hPhi1), scale: -f32(target.alpha * bh), ratios, rows, rhs }
      : { cx: f32(target.alpha / s0.alpha), c0: -f32(target.sigma * hPhi1), scale: -f32(target.sigma * bh), ratios, rows, rhs };
  }

  /** UniP-p (Zhao et al. 2023, Algorithm 2): x_t from x_{s0} and the last p outputs. */
  private predictor(x: Float32Array, index: number, order: number): Float32Array {
    const target = noiseLevel(this.sigmas[index + 1]!);
    const s0 = noiseLevel(this.sigmas[index]!);
    const past = Array.from({ length: order - 1 }, (_, k) => index - (k + 1));
    const k = this.coefficients(target, s0, past, order);
    // ρ_p: ½ for p = 2 (the paper's simplified choice), else the solution of R·ρ = b without the last row/column.
    const rhos = order === 1 ? [] : order === 2 ? [0.5] : solve(k.rows.slice(0, -1).map((row) => row.slice(0, -1)), k.rhs.slice(0, -1)).map(f32);
    const out = new Float32Array(x.length);
    this.combine(out, x, k, rhos.map((rho, j) => f32(rho / k.ratios[j]!)), undefined, 0);
    return out;
  }

  /** UniC-p (Zhao et al. 2023, Algorithm 3): corrects x_t using the new output at x_t, into `out`. */
  private corrector(modelT: Float32Array, lastSample: Float32Array, index: number, order: number, out: Float32Array): void {
    const target = noiseLevel(this.sigmas[index]!);
    const s0 = noiseLevel(this.sigmas[index - 1]!);
    const past = Array.from({ length: order - 1 }, (_, k) => index - (k + 2));
    const k = this.coefficients(target, s0, past, order);
    const rhos = order === 1 ? [0.5] : solve(k.rows, k.rhs).map(f32);
    this.combine(out, lastSample, k, rhos.slice(0, -1).map((rho, j) => f32(rho / k.ratios[j]!)), modelT, rhos[rhos.length - 1]!);
  }

  /**
   * out = c_x·x + c_0·m0 + scale·(Σ_j w_j·(m_j − m0) + w_t·(m_t − m0)), with m0 the newest history
   * entry and m_j the ones before it; up to two past outputs run in a branch-free loop.
   */
  private combine(out: Float32Array, x: Float32Array, k: UpdateCoefficients, weights: number[], modelT: Float32Array | undefined, weightT: number): void {
    const history = this.history;
    const m0 = history[history.length - 1]!;
    const previous = weights.map((_, j) => history[history.length - 2 - j]!);
    const { cx, c0, scale } = k;
    const size = out.length;
    if (previous.length <= 2) {
      const p0 = previous[0] ?? m0;
      const p1 = previous[1] ?? m0;
      const t = modelT ?? m0;
      const [w0 = 0, w1 = 0] = weights;
      for (let i = 0; i < size; i++) {
        const base = m0[i]!;
        const correction = w0 * (p0[i]! - base) + w1 * (p1[i]! - base) + weightT * (t[i]! - base);
        out[i] = f32(f32(cx * x[i]!) + f32(c0 * base)) + f32(scale * f32(correction));
      }
      return;
    }
    for (let i = 0; i < size; i++) {
      const base = m0[i]!;
      let correction = modelT ? weightT * (modelT[i]! - base) : 0;
      for (let j = 0; j < previous.length; j++) correction += weights[j]! * (previous[j]![i]! - base);
      out[i] = f32(f32(cx * x[i]!) + f32(c0 * base)) + f32(scale * f32(correction));
    }
  }
}
