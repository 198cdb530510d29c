/**
 * How inference timesteps are placed on the training schedule: `leading`, `trailing` and
 * `linspace` as in Table 2 of Lin et al. 2023 ("Common Diffusion Noise Schedules and Sample Steps
 * are Flawed"), with numpy's arithmetic (round half to even, `linspace` endpoints) so the integer
 * timesteps equal diffusers'.
 */
import { InvalidArgumentError } from '@latentkit/core';

/** The `timestep_spacing` values (Lin et al. 2023, Table 2). */
export const TIMESTEP_SPACINGS = ['leading', 'trailing', 'linspace'] as const;
/** One of {@link TIMESTEP_SPACINGS}. */
export type TimestepSpacing = (typeof TIMESTEP_SPACINGS)[number];

/** numpy's `round`: halves go to the even neighbour (499.5 → 500, 498.5 → 498). */
export function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** `np.linspace(start, stop, num)`: `i·step + start`, with the last value exactly `stop`. */
export function numpyLinspace(start: number, stop: number, num: number): number[] {
  if (num === 1) return [start];
  const step = (stop - start) / (num - 1);
  const out = Array.from({ length: num }, (_, i) => i * step + start);
  out[num - 1] = stop;
  return out;
}

/** `np.arange(start, stop, step)` for a negative or positive float step. */
export function numpyArange(start: number, stop: number, step: number): number[] {
  const length = Math.max(0, Math.ceil((stop - start) / step));
  return Array.from({ length }, (_, i) => start + i * step);
}

/** Checks a spacing name and a step count; returns the spacing. */
export function checkSpacing(className: string, spacing: unknown): TimestepSpacing {
  if (!TIMESTEP_SPACINGS.includes(spacing as TimestepSpacing)) {
    throw new InvalidArgumentError({
      name: `${className} config.timestep_spacing`,
      expected: TIMESTEP_SPACINGS.map((s) => `'${s}'`).join(' | '),
      actual: spacing,
    });
  }
  return spacing as TimestepSpacing;
}

/** Checks `numInferenceSteps` against the training steps. */
export function checkStepCount(className: string, numInferenceSteps: unknown, numTrainTimesteps: number): number {
  if (typeof numInferenceSteps !== 'number' || !Number.isInteger(numInferenceSteps) || numInferenceSteps < 1 || numInferenceSteps > numTrainTimesteps) {
    throw new InvalidArgumentError({
      name: `${className}.setTimesteps(numInferenceSteps)`,
      expected: `an integer in [1, ${numTrainTimesteps}] (num_train_timesteps)`,
      actual: numInferenceSteps,
    });
  }
  return numInferenceSteps;
}

/**
 * Integer timesteps, descending, as DDPM, DDIM and PNDM place them (`n` steps):
 * leading `i·(T // n) + offset`, trailing `round(T − i·T/n) − 1`, linspace `round(linspace(0, T−1, n))`.
 *
 * @example
 * ```ts
 * discreteTimesteps('leading', 10, 1000, 1); // [901, 801, …, 1]
 * ```
 */
export function discreteTimesteps(spacing: TimestepSpacing, n: number, numTrain: number, stepsOffset: number): number[] {
  if (spacing === 'leading') {
    const ratio = Math.floor(numTrain / n);
    return Array.from({ length: n }, (_, i) => (n - 1 - i) * ratio + stepsOffset);
  }
  if (spacing === 'trailing') return numpyArange(numTrain, 0, -numTrain / n).map((t) => roundHalfEven(t) - 1);
  return numpyLinspace(0, numTrain - 1, n).map(roundHalfEven).reverse();
}

/**
 * Timesteps of the multistep solvers (DPM-Solver, UniPC, DEIS): `n + 1` points with the last
 * (t = 0) dropped, so the final step lands on the first training timestep. `lastTimestep` is
 * `T` less any steps clipped by `lambda_min_clipped`.
 */
export function solverTimesteps(spacing: TimestepSpacing, n: number, numTrain: number, stepsOffset: number, lastTimestep = numTrain): number[] {
  if (spacing === 'leading') {
    const ratio = Math.floor(lastTimestep / (n + 1));
    return Array.from({ length: n }, (_, i) => (n - i) * ratio + stepsOffset);
  }
  if (spacing === 'trailing') return numpyArange(lastTimestep, 0, -numTrain / n).map((t) => roundHalfEven(t) - 1);
  return numpyLinspace(0, lastTimestep - 1, n + 1).map(roundHalfEven).reverse().slice(0, n);
}

/**
 * Fractional timesteps of the sigma (Karras-style) schedulers, descending. `float32` rounds them
 * as the classes that build them with `dtype=np.float32` do (Euler, Euler ancestral, KDPM2).
 */
export function sigmaTimesteps(spacing: TimestepSpacing, n: number, numTrain: number, stepsOffset: number, float32: boolean): number[] {
  let out: number[];
  if (spacing === 'leading') {
    const ratio = Math.floor(numTrain / n);
    out = Array.from({ length: n }, (_, i) => (n - 1 - i) * ratio + stepsOffset);
  } else if (spacing === 'trailing') {
    out = numpyArange(numTrain, 0, -numTrain / n).map((t) => roundHalfEven(t) - 1);
  } else {
    out = numpyLinspace(0, numTrain - 1, n).reverse();
  }
  return float32 ? out.map(Math.fround) : out;
}
