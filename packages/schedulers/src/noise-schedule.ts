/**
 * The training noise schedule: β_t, ᾱ_t = ∏(1 − β_s), computed in float32 exactly as diffusers
 * does with torch (so `alphas_cumprod` matches bit for bit), plus the zero-terminal-SNR rescaling.
 */
import { InvalidArgumentError } from '@latentkit/core';

/** The config keys every diffusers scheduler uses to build its β schedule. */
export interface NoiseScheduleConfig {
  num_train_timesteps: number;
  beta_start: number;
  beta_end: number;
  beta_schedule: string;
  trained_betas: readonly number[] | null;
  rescale_betas_zero_snr?: boolean;
}

/**
 * diffusers' defaults for the noise-schedule keys (DDPM's 1000 linear β from 10⁻⁴ to 0.02), which
 * every scheduler but LCM starts from.
 *
 * @example
 * ```ts
 * const MY_DEFAULTS = { ...NOISE_SCHEDULE_DEFAULTS, prediction_type: 'epsilon' };
 * ```
 */
export const NOISE_SCHEDULE_DEFAULTS = Object.freeze({
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: 'linear',
  trained_betas: null,
} as const satisfies NoiseScheduleConfig);

/** The β schedules diffusers implements. */
export const BETA_SCHEDULES = ['linear', 'scaled_linear', 'squaredcos_cap_v2'] as const;

const f32 = Math.fround;

/**
 * `torch.linspace(start, end, steps, dtype=torch.float32)` on the CPU, value for value: torch
 * computes the step in float32, fills the first half forwards from `start` and the second half
 * backwards from `end`, in vectors of 8 with a scalar tail. The scalar `start + step·i` is a fused
 * multiply-add (one rounding: a float32 step times an index below 2²⁴ is exact in a double);
 * within a vector, `base + k·step` rounds the product first (`Vectorized::arange`).
 *
 * @example
 * ```ts
 * torchLinspaceFloat32(0.00085 ** 0.5, 0.012 ** 0.5, 1000); // SD's sqrt(β) ramp
 * ```
 */
export function torchLinspaceFloat32(start: number, end: number, steps: number): Float32Array {
  const out = new Float32Array(steps);
  if (steps === 1) {
    out[0] = start;
    return out;
  }
  const first = f32(start);
  const last = f32(end);
  const step = f32((last - first) / (steps - 1));
  const halfway = Math.floor(steps / 2);
  const scalar = (index: number): number =>
    index < halfway ? f32(first + step * index) : f32(last - step * (steps - index - 1));
  // cpu_serial_kernel_vec: pairs of 8-wide vectors while 16 remain, then the scalar loop.
  const vectorEnd = Math.floor(steps / 16) * 16;
  for (let base = 0; base < vectorEnd; base += 8) {
    const origin = scalar(base);
    for (let k = 0; k < 8; k++) out[base + k] = f32(origin + f32(k * step));
  }
  for (let i = vectorEnd; i < steps; i++) out[i] = scalar(i);
  return out;
}

/**
 * β_t of a config, in float32: `linear`, `scaled_linear` (linear in √β, the latent-diffusion
 * schedule), `squaredcos_cap_v2` (the cosine schedule of Nichol & Dhariwal 2021, eq. 17, β capped
 * at 0.999) or the config's `trained_betas`.
 *
 * @example
 * ```ts
 * const betas = betasFor({ num_train_timesteps: 1000, beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear', trained_betas: null }, 'MyScheduler');
 * ```
 */
export function betasFor(config: NoiseScheduleConfig, className: string): Float32Array {
  const count = config.num_train_timesteps;
  if (!Number.isInteger(count) || count < 2) {
    throw new InvalidArgumentError({ name: `${className} config.num_train_timesteps`, expected: 'an integer ≥ 2', actual: count });
  }
  let betas: Float32Array;
  if (config.trained_betas != null) {
    if (!Array.isArray(config.trained_betas) || config.trained_betas.length !== count) {
      throw new InvalidArgumentError({
        name: `${className} config.trained_betas`,
        expected: `an array of ${count} numbers (num_train_timesteps)`,
        actual: config.trained_betas,
      });
    }
    betas = Float32Array.from(config.trained_betas);
  } else if (config.beta_schedule === 'linear') {
    betas = torchLinspaceFloat32(config.beta_start, config.beta_end, count);
  } else if (config.beta_schedule === 'scaled_linear') {
    betas = torchLinspaceFloat32(config.beta_start ** 0.5, config.beta_end ** 0.5, count);
    for (let i = 0; i < count; i++) betas[i] = betas[i]! * betas[i]!;
  } else if (config.beta_schedule === 'squaredcos_cap_v2') {
    betas = cosineBetas(count);
  } else {
    throw new InvalidArgumentError({
      name: `${className} config.beta_schedule`,
      expected: BETA_SCHEDULES.map((s) => `'${s}'`).join(' | '),
      actual: config.beta_schedule,
      hint: 'or give trained_betas',
    });
  }
  return config.rescale_betas_zero_snr ? rescaleZeroTerminalSnr(betas) : betas;
}

/** β_t = min(1 − ᾱ(t+1)/ᾱ(t), 0.999) with ᾱ(t) = cos²((t/T + 0.008)/1.008 · π/2), in float64 then float32. */
function cosineBetas(count: number): Float32Array {
  const alphaBar = (t: number): number => Math.cos(((t + 0.008) / 1.008) * Math.PI / 2) ** 2;
  const betas = new Float32Array(count);
  for (let i = 0; i < count; i++) betas[i] = Math.min(1 - alphaBar((i + 1) / count) / alphaBar(i / count), 0.999);
  return betas;
}

/** `torch.cumprod` of float32 values: accumulated in double, each output rounded to float32. */
export function cumulativeProduct(values: Float32Array): Float32Array {
  const out = new Float32Array(values.length);
  let product = 1;
  for (let i = 0; i < values.length; i++) {
    product *= values[i]!;
    out[i] = product;
  }
  return out;
}

/**
 * ᾱ_t = ∏_{s≤t} (1 − β_s) in float32.
 *
 * @example
 * ```ts
 * const alphasCumprod = alphasCumprodFrom(betas); // alphasCumprod[999] ≈ 0.00466 for SD
 * ```
 */
export function alphasCumprodFrom(betas: Float32Array): Float32Array {
  const alphas = new Float32Array(betas.length);
  for (let i = 0; i < betas.length; i++) alphas[i] = 1 - betas[i]!;
  return cumulativeProduct(alphas);
}

/**
 * Rescales β so the last timestep has zero SNR (Lin et al. 2023, "Common Diffusion Noise Schedules
 * and Sample Steps are Flawed", Algorithm 1): shift √ᾱ so its last value is 0, scale it so its
 * first value is unchanged, and convert back to β. float32 throughout, as diffusers.
 *
 * @example
 * ```ts
 * const zeroSnrBetas = rescaleZeroTerminalSnr(betas); // ᾱ_T becomes 0
 * ```
 */
export function rescaleZeroTerminalSnr(betas: Float32Array): Float32Array {
  const count = betas.length;
  const sqrtAlphaBar = alphasCumprodFrom(betas).map(Math.sqrt);
  const first = sqrtAlphaBar[0]!;
  const last = sqrtAlphaBar[count - 1]!;
  const scale = f32(first / f32(first - last));
  const alphaBar = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const shifted = f32(f32(sqrtAlphaBar[i]! - last) * scale);
    alphaBar[i] = shifted * shifted;
  }
  const out = new Float32Array(count);
  out[0] = 1 - alphaBar[0]!;
  for (let i = 1; i < count; i++) out[i] = 1 - f32(alphaBar[i]! / alphaBar[i - 1]!);
  return out;
}
