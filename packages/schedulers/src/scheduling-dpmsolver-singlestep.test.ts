/**
 * `final_sigmas_type` of the single-step DPM-Solver++. There is no diffusers file for this
 * scheduler in ../shared/reference, so the 'sigma_min' run is checked against diffusers 0.25.1's
 * `scheduling_dpmsolver_singlestep.py` re-derived here in float64 from its formulas: timesteps
 * `linspace(0, 999, n + 1).round()[::-1][:-1]`, σ interpolated there and a last σ of
 * √((1 − ᾱ₀)/ᾱ₀), `get_order_list` (an even second-order run ends 1, 2), and the DPM-Solver++
 * first- and second-order (midpoint) updates from the sample at the start of each order group.
 * The model is the reference runs' `0.1·x·cos(t/100) + 0.05·sin(x)`. Tolerance: 1e-5 relative
 * (max |a − b| / max(1, |b|)) on every step of the closed loop, float32 steps against float64.
 */
import { TorchGenerator, createTensor, type Scheduler, type Tensor } from '@latentkit/core';
import { schedulerFromConfig } from './scheduler-from-config';
import { DPMSolverSinglestepScheduler } from './scheduling-dpmsolver-singlestep';
import { roundHalfEven } from './timestep-spacing';

const SD = { beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear', steps_offset: 1 };
const DIMS = [1, 4, 8, 8];
const TOLERANCE = 1e-5;

const model = (x: number, t: number): number => Math.fround(0.1 * x * Math.cos(t / 100) + 0.05 * Math.sin(x));
const relativeError = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let worst = 0;
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return worst;
};

/** diffusers 0.25.1's DPMSolverSinglestepScheduler (dpmsolver++, midpoint, order 2, ε-prediction), float64. */
function diffusers0251(alphasCumprod: Float32Array, steps: number, initial: Float32Array): { timesteps: number[]; sigmas: number[]; samples: Float64Array[] } {
  const train = Array.from(alphasCumprod, (a) => Math.sqrt((1 - a) / a));
  const last = alphasCumprod.length - 1;
  const timesteps = Array.from({ length: steps + 1 }, (_, i) => roundHalfEven((last * i) / steps)).reverse().slice(0, steps);
  const interpolate = (t: number) => train[Math.floor(t)]! + (t - Math.floor(t)) * ((train[Math.ceil(t)] ?? 0) - train[Math.floor(t)]!);
  const sigmas = [...timesteps.map(interpolate), train[0]!].map(Math.fround);
  const orders = Array.from({ length: steps }, (_, i) => (i % 2 === 0 ? 1 : 2)); // [1, 2] * (steps // 2), steps even
  const level = (s: number) => {
    const alpha = 1 / Math.sqrt(s * s + 1);
    return { alpha, sigma: s * alpha, lambda: Math.log(alpha) - Math.log(s * alpha) };
  };
  let x = Float64Array.from(initial);
  let groupStart = x;
  const outputs: Float64Array[] = [];
  const samples: Float64Array[] = [];
  timesteps.forEach((t, i) => {
    const s0 = level(sigmas[i]!);
    outputs.push(x.map((value) => (value - s0.sigma * model(value, t)) / s0.alpha));
    if (orders[i] === 1) groupStart = x;
    const target = level(sigmas[i + 1]!);
    const origin = level(sigmas[i + 1 - orders[i]!]!);
    const h = target.lambda - origin.lambda;
    const c0 = target.alpha * (Math.exp(-h) - 1);
    const m0 = outputs[outputs.length - 1]!;
    const next = new Float64Array(x.length);
    if (orders[i] === 1) {
      for (let k = 0; k < x.length; k++) next[k] = (target.sigma / origin.sigma) * groupStart[k]! - c0 * m0[k]!;
    } else {
      const m1 = outputs[outputs.length - 2]!;
      const r0 = (s0.lambda - origin.lambda) / h;
      for (let k = 0; k < x.length; k++) {
        const d1 = (m0[k]! - m1[k]!) / r0;
        next[k] = (target.sigma / origin.sigma) * groupStart[k]! - c0 * m1[k]! - 0.5 * c0 * d1;
      }
    }
    samples.push(next);
    x = next;
  });
  return { timesteps, sigmas, samples };
}

function run(scheduler: Scheduler, steps: number, initial: Float32Array): Float32Array[] {
  scheduler.setTimesteps(steps);
  let sample: Tensor<Float32Array> = createTensor(DIMS, Float32Array.from(initial));
  const samples: Float32Array[] = [];
  for (const t of scheduler.timesteps) {
    const output = createTensor(DIMS, sample.data.map((x) => model(x, t)));
    sample = scheduler.step(output, t, sample).prevSample;
    samples.push(sample.data);
  }
  return samples;
}

describe("DPMSolverSinglestepScheduler final_sigmas_type", () => {
  const initial = new TorchGenerator(0).randn(DIMS);
  const make = (options: Record<string, unknown> = {}) => schedulerFromConfig({ _class_name: 'DPMSolverSinglestepScheduler', ...SD, ...options });

  it.each([10, 20])("'sigma_min' replays diffusers 0.25.1 (%i steps, every step within 1e-5 relative)", (steps) => {
    const scheduler = make({ final_sigmas_type: 'sigma_min' });
    const alphasCumprod = (scheduler as unknown as { alphasCumprod: Float32Array }).alphasCumprod;
    const expected = diffusers0251(alphasCumprod, steps, initial);
    const samples = run(scheduler, steps, initial);
    expect(scheduler.timesteps).toEqual(expected.timesteps);
    expect(relativeError((scheduler as unknown as { sigmas: Float32Array }).sigmas, expected.sigmas)).toBeLessThan(TOLERANCE);
    samples.forEach((sample, i) => expect(relativeError(sample, expected.samples[i]!)).toBeLessThan(TOLERANCE));
  });

  it("a config without the key is diffusers 0.25's: 'sigma_min'", () => {
    expect(make().config.final_sigmas_type).toBe('sigma_min');
    expect(run(make(), 10, initial)).toEqual(run(make({ final_sigmas_type: 'sigma_min' }), 10, initial));
  });

  it("'zero' ends with a first-order step to σ = 0 (later diffusers' default): the last sample is x̂₀", () => {
    const scheduler = make({ final_sigmas_type: 'zero' });
    scheduler.setTimesteps(10);
    const sigmas = (scheduler as unknown as { sigmas: Float32Array }).sigmas;
    expect(sigmas[sigmas.length - 1]).toBe(0);
    let sample: Tensor<Float32Array> = createTensor(DIMS, Float32Array.from(initial));
    let last: ReturnType<Scheduler['step']> | undefined;
    for (const t of scheduler.timesteps) {
      last = scheduler.step(createTensor(DIMS, sample.data.map((x) => model(x, t))), t, sample);
      sample = last.prevSample;
    }
    expect(Array.from(last!.prevSample.data)).toEqual(Array.from(last!.predOriginalSample!.data));
  });

  it("the two settings differ at the last step of an even run (order 2 to σ_min against order 1 to 0)", () => {
    const minimum = run(make({ final_sigmas_type: 'sigma_min' }), 10, initial);
    const zero = run(make({ final_sigmas_type: 'zero' }), 10, initial);
    expect(relativeError(minimum[8]!, zero[8]!)).toBe(0);
    expect(relativeError(minimum[9]!, zero[9]!)).toBeGreaterThan(100 * TOLERANCE);
  });

  it('refuses an unknown value, and σ = 0 with noise prediction, naming the fix', () => {
    expect(() => new DPMSolverSinglestepScheduler({ final_sigmas_type: 'last' })).toThrow(/final_sigmas_type must be 'sigma_min' \| 'zero', got "last"/);
    expect(() => new DPMSolverSinglestepScheduler({ final_sigmas_type: 'zero', algorithm_type: 'dpmsolver' })).toThrow(/dpmsolver\+\+/);
  });
});
