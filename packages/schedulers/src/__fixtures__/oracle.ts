/**
 * An exact "denoiser" for tests: every sample on the path is α·x₀ + s·ε for fixed x₀ and ε, so
 * the model can recover (α, s) from its (scaled) input by least squares and answer the exact
 * ε, x₀ or v. Every deterministic ODE solver must then stay on that path, whatever its order.
 */
import { createTensor, type PredictionType, type Scheduler, type Tensor } from '@latentkit/core';

export interface OraclePath {
  x0: Float32Array;
  epsilon: Float32Array;
}

export function makePath(size: number, seed = 1): OraclePath {
  let state = seed;
  const next = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32 - 0.5;
  };
  return { x0: Float32Array.from({ length: size }, () => next() * 1.6), epsilon: Float32Array.from({ length: size }, () => next() * 3.4) };
}

/** Least-squares (α, s) with input ≈ α·x₀ + s·ε. */
export function fitPath(input: Float32Array, path: OraclePath): { alpha: number; scale: number } {
  let xx = 0, xe = 0, ee = 0, xi = 0, ei = 0;
  for (let i = 0; i < input.length; i++) {
    const x = path.x0[i]!, e = path.epsilon[i]!, v = input[i]!;
    xx += x * x; xe += x * e; ee += e * e; xi += x * v; ei += e * v;
  }
  const det = xx * ee - xe * xe;
  return { alpha: (xi * ee - ei * xe) / det, scale: (ei * xx - xi * xe) / det };
}

/** The exact model output for a prediction type. */
export function oracleModel(predictionType: PredictionType, input: Tensor<Float32Array>, path: OraclePath): Tensor<Float32Array> {
  const { alpha, scale } = fitPath(input.data, path);
  // v = α_t·ε − σ_t·x₀ for a VP input α_t·x₀ + σ_t·ε (Salimans & Ho 2022).
  const norm = Math.hypot(alpha, scale);
  const out = input.data.map((_, i) =>
    predictionType === 'epsilon' ? path.epsilon[i]! : predictionType === 'sample' ? path.x0[i]! : (alpha * path.epsilon[i]! - scale * path.x0[i]!) / norm,
  );
  return createTensor(input.dims, out);
}

/** Runs a whole schedule with the oracle, starting on the path at the first timestep's noise level. */
export function runOracle(scheduler: Scheduler, steps: number, path: OraclePath, start: (scheduler: Scheduler) => { alpha: number; scale: number }, dims: number[]): Float32Array[] {
  scheduler.setTimesteps(steps);
  const { alpha, scale } = start(scheduler);
  let sample: Tensor<Float32Array> = createTensor(dims, path.x0.map((x, i) => alpha * x + scale * path.epsilon[i]!));
  const trajectory: Float32Array[] = [];
  for (const t of scheduler.timesteps) {
    const output = oracleModel(scheduler.predictionType, scheduler.scaleModelInput(sample, t), path);
    sample = scheduler.step(output, t, sample, {}).prevSample;
    trajectory.push(sample.data);
  }
  return trajectory;
}
