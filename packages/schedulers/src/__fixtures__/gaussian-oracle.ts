/**
 * A diffusion problem with a known exact solution, for convergence tests: data x₀ ~ N(μ, s²)
 * per element. Its denoiser is E[x₀ | x_t] = μ + α s²/(α² s² + σ²)·(x_t − α μ) (VP form), and the
 * probability-flow ODE moves every sample along x_t = α μ + √(α² s² + σ²)·z with z fixed, so a
 * solver's sample can be compared with the exact one wherever it lands.
 */
import { createTensor, type Scheduler, type Tensor } from '@latentkit/core';

const SIZE = 256;
const DIMS = [1, 4, 8, 8];
const SPREAD = 0.5;

function values(seed: number, scale: number): Float64Array {
  let state = seed;
  return Float64Array.from({ length: SIZE }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state / 2 ** 32 - 0.5) * scale;
  });
}

const mean = values(3, 2);
const position = values(5, 3.4);

/** The exact sample at a VP noise level (α, σ): α μ + √(α² s² + σ²)·z. */
export function exactSample(alpha: number, sigma: number): Float64Array {
  return mean.map((m, i) => alpha * m + Math.sqrt(alpha * alpha * SPREAD * SPREAD + sigma * sigma) * position[i]!);
}

/** The model's answer for a VP input α·x₀ + σ·ε, in the scheduler's prediction type. */
function answer(scheduler: Scheduler, input: Float32Array, alpha: number, sigma: number): Tensor<Float32Array> {
  const out = new Float32Array(SIZE);
  const gain = (alpha * SPREAD * SPREAD) / (alpha * alpha * SPREAD * SPREAD + sigma * sigma);
  for (let i = 0; i < SIZE; i++) {
    const x0 = mean[i]! + gain * (input[i]! - alpha * mean[i]!);
    const epsilon = (input[i]! - alpha * x0) / sigma;
    out[i] = scheduler.predictionType === 'epsilon' ? epsilon : scheduler.predictionType === 'sample' ? x0 : alpha * epsilon - sigma * x0;
  }
  return createTensor(DIMS, out);
}

/**
 * Runs a whole schedule from the exact sample at its first noise level and returns, after each
 * step, the largest distance to the exact sample at the noise level the step landed on.
 * `noiseLevel(scheduler, stepIndex)` gives the VP (α, σ) the step lands on; the model reads the
 * level of its input from the scaled input itself (x/√(σ²+1) for σ schedulers).
 */
export function errorsAlongSchedule(
  scheduler: Scheduler,
  steps: number,
  start: (scheduler: Scheduler) => { alpha: number; sigma: number },
  landing: (scheduler: Scheduler, stepIndex: number) => { alpha: number; sigma: number } | undefined,
  sigmaScheduler: boolean,
): (number | undefined)[] {
  scheduler.setTimesteps(steps);
  const first = start(scheduler);
  // σ schedulers carry x = x₀ + σ·ε: the VP sample divided by α.
  const initial = exactSample(first.alpha, first.sigma).map((v) => (sigmaScheduler ? v / first.alpha : v));
  let sample: Tensor<Float32Array> = createTensor(DIMS, Float32Array.from(initial));
  const errors: (number | undefined)[] = [];
  scheduler.timesteps.forEach((t, index) => {
    const input = scheduler.scaleModelInput(sample, t);
    // The input is α x₀ + σ ε for the level it was scaled to: for σ schedulers 1/α = x/input.
    let level: { alpha: number; sigma: number };
    if (sigmaScheduler) {
      const ratio = sample.data[0]! / input.data[0]!;
      const sigmaVe = Math.sqrt(Math.max(ratio * ratio - 1, 0));
      level = { alpha: 1 / ratio, sigma: sigmaVe / ratio };
    } else {
      level = levelAt(scheduler, t);
    }
    sample = scheduler.step(answer(scheduler, input.data, level.alpha, level.sigma), t, sample).prevSample;
    const target = landing(scheduler, index);
    if (!target) return errors.push(undefined);
    const exact = exactSample(target.alpha, target.sigma);
    let worst = 0;
    for (let i = 0; i < SIZE; i++) worst = Math.max(worst, Math.abs((sigmaScheduler ? sample.data[i]! * target.alpha : sample.data[i]!) - exact[i]!));
    errors.push(worst);
  });
  return errors;
}

/** α = √ᾱ_t, σ = √(1 − ᾱ_t) at an integer training timestep. */
export function levelAt(scheduler: Scheduler, timestep: number): { alpha: number; sigma: number } {
  const alphaBar = (scheduler as unknown as { alphasCumprod: Float32Array }).alphasCumprod[timestep]!;
  return { alpha: Math.sqrt(alphaBar), sigma: Math.sqrt(1 - alphaBar) };
}

/** α, σ of a VE noise level σ_ve: α = 1/√(σ² + 1), σ_t = σ·α. */
export function levelOfSigma(sigmaVe: number): { alpha: number; sigma: number } {
  const alpha = 1 / Math.sqrt(sigmaVe * sigmaVe + 1);
  return { alpha, sigma: sigmaVe * alpha };
}
