/**
 * Noise levels σ of the variance-exploding view of a DDPM schedule (Karras et al. 2022,
 * "Elucidating the Design Space of Diffusion-Based Generative Models"): σ_t = √((1 − ᾱ_t)/ᾱ_t),
 * their interpolation at fractional timesteps, the Karras (eq. 5) and exponential re-spacings,
 * and the inverse map σ → t that diffusers uses (linear in log σ).
 */
import { InvalidArgumentError } from '@latentkit/core';

const f32 = Math.fround;

/** σ_t = √((1 − ᾱ_t)/ᾱ_t), each operation in float32 as numpy does on the float32 ᾱ. */
export function sigmasFromAlphasCumprod(alphasCumprod: Float32Array): Float32Array {
  return alphasCumprod.map((a) => Math.sqrt(f32(f32(1 - a) / a)));
}

/** `np.log` of a float32 array (float32 results). */
export function logFloat32(values: Float32Array): Float32Array {
  return values.map(Math.log);
}

/** `np.interp(x, arange(len(table)), table)`: linear interpolation on the integer grid. */
export function interpolateOnGrid(x: number, table: ArrayLike<number>): number {
  const last = table.length - 1;
  if (x <= 0) return table[0]!;
  if (x >= last) return table[last]!;
  const low = Math.floor(x);
  if (x === low) return table[low]!;
  const slope = table[low + 1]! - table[low]!;
  return slope * (x - low) + table[low]!;
}

/**
 * Karras et al. 2022 eq. 5: σ_i = (σ_max^{1/ρ} + i/(n−1)·(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ with ρ = 7.
 *
 * @example
 * ```ts
 * karrasSigmas(0.0292, 14.6146, 25); // 25 σ from 14.6 down to 0.029, dense at the low end
 * ```
 */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, n: number, rho = 7): number[] {
  const minInvRho = sigmaMin ** (1 / rho);
  const maxInvRho = sigmaMax ** (1 / rho);
  const ramp = n === 1 ? [0] : Array.from({ length: n }, (_, i) => (i === n - 1 ? 1 : i * (1 / (n - 1))));
  return ramp.map((r) => (maxInvRho + r * (minInvRho - maxInvRho)) ** rho);
}

/**
 * σ spaced evenly in log σ from σ_max to σ_min (diffusers' `use_exponential_sigmas`).
 *
 * @example
 * ```ts
 * exponentialSigmas(0.0292, 14.6146, 25);
 * ```
 */
export function exponentialSigmas(sigmaMin: number, sigmaMax: number, n: number): number[] {
  const high = Math.log(sigmaMax);
  const low = Math.log(sigmaMin);
  const step = n === 1 ? 0 : (low - high) / (n - 1);
  return Array.from({ length: n }, (_, i) => Math.exp(i === n - 1 && n > 1 ? low : i * step + high));
}

/**
 * The fractional timestep of a σ: interpolates linearly in log σ between the two training
 * timesteps around it (diffusers' `_sigma_to_t`), clamped to the table.
 *
 * @example
 * ```ts
 * sigmaToTimestep(1.0, Float32Array.from(trainingSigmas, Math.log)); // a fractional timestep
 * ```
 */
export function sigmaToTimestep(sigma: number, logSigmas: Float32Array): number {
  const logSigma = Math.log(Math.max(sigma, 1e-10));
  // low = the last index with log σ_t ≤ log σ (0 when none), at most len − 2.
  let low = 0;
  for (let i = 0; i < logSigmas.length; i++) if (logSigma - logSigmas[i]! >= 0) low = i;
  low = Math.min(low, logSigmas.length - 2);
  const lowValue = logSigmas[low]!;
  const highValue = logSigmas[low + 1]!;
  const w = Math.min(Math.max((lowValue - logSigma) / (lowValue - highValue), 0), 1);
  return (1 - w) * low + w * (low + 1);
}

/** The σ re-spacings a config may ask for. */
export interface SigmaSpacingConfig {
  use_karras_sigmas?: boolean;
  use_exponential_sigmas?: boolean;
}

/** Refuses configs that ask for two σ spacings at once, as diffusers does. */
export function checkSigmaSpacing(className: string, config: SigmaSpacingConfig): void {
  if (config.use_karras_sigmas && config.use_exponential_sigmas) {
    throw new InvalidArgumentError({
      name: `${className} config`,
      expected: 'at most one of use_karras_sigmas and use_exponential_sigmas',
      actual: 'both true',
      hint: 'set one of them to false',
    });
  }
}

/** Re-spaces descending σ between `sigmaMin` and `sigmaMax` as the config asks, or returns null. */
export function respacedSigmas(config: SigmaSpacingConfig, sigmaMin: number, sigmaMax: number, n: number): number[] | null {
  if (config.use_karras_sigmas) return karrasSigmas(sigmaMin, sigmaMax, n);
  if (config.use_exponential_sigmas) return exponentialSigmas(sigmaMin, sigmaMax, n);
  return null;
}
