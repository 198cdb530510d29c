/**
 * Classifier-free guidance fused with a scheduler's step update, in one pass over memory:
 *
 *   guided = uncond + g·(cond − uncond)                 (Ho & Salimans 2022, eq. 6)
 *   out    = a·sample + b·guided + c·noise
 *
 * Every first-order scheduler step is this linear combination with per-step coefficients (see
 * scheduler-coefficients.ts for DDIM, Euler and Euler ancestral). Both paths compute in float64
 * with the same operations in the same order and round once to float32: the native kernel and
 * the TypeScript twin give identical bits.
 */
import { requireArray, requireElementwiseAlias, requireFiniteNumber, requireLength, sharesMemory } from '../src/argument-checks';
import { nativeAddon } from '../src/load-addon';

/** Arguments of {@link guidanceStep}. */
export interface GuidanceStepOptions {
  /** The current latents x_t. */
  sample: Float32Array;
  /** The model's prediction without the prompt (the first half of a CFG batch). */
  uncond: Float32Array;
  /** The model's prediction with the prompt; omit to step on `uncond` alone (no guidance). */
  cond?: Float32Array;
  /** g in `uncond + g·(cond − uncond)`; default 7.5. Ignored without `cond`. */
  guidanceScale?: number;
  /** a: the weight of `sample`. */
  sampleCoefficient: number;
  /** b: the weight of the guided prediction. */
  predictionCoefficient: number;
  /** Fresh noise for stochastic schedulers (DDPM, Euler ancestral). */
  noise?: Float32Array;
  /** c: the weight of `noise`; default 0. */
  noiseCoefficient?: number;
  /** Where to write the next sample; may be `sample` itself (in place). Default: a new array. */
  out?: Float32Array;
  /** Also store the guided prediction here (multistep schedulers keep a history of it). */
  guidedOut?: Float32Array;
}

/**
 * Runs one guided step and returns the next sample.
 *
 * @example
 * ```ts
 * import { guidanceStep, eulerStepCoefficients } from '@latentkit/native';
 * const sample = new Float32Array(4 * 64 * 64), uncond = new Float32Array(sample.length), cond = uncond.slice();
 * const { sampleCoefficient, predictionCoefficient } = eulerStepCoefficients(14.6, 9.7);
 * guidanceStep({ sample, uncond, cond, guidanceScale: 7.5, sampleCoefficient, predictionCoefficient, out: sample });
 * ```
 */
export function guidanceStep(options: GuidanceStepOptions): Float32Array {
  const f = 'guidanceStep';
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${f}: options must be an object { sample, uncond, cond?, sampleCoefficient, predictionCoefficient, ... }`);
  }
  const sample = requireArray(f, 'sample', options.sample, Float32Array);
  const uncond = requireArray(f, 'uncond', options.uncond, Float32Array);
  const cond = options.cond === undefined ? null : requireArray(f, 'cond', options.cond, Float32Array);
  const noise = options.noise === undefined ? null : requireArray(f, 'noise', options.noise, Float32Array);
  const guidanceScale = requireFiniteNumber(f, 'guidanceScale', options.guidanceScale ?? 7.5);
  const a = requireFiniteNumber(f, 'sampleCoefficient', options.sampleCoefficient);
  const b = requireFiniteNumber(f, 'predictionCoefficient', options.predictionCoefficient);
  const c = requireFiniteNumber(f, 'noiseCoefficient', options.noiseCoefficient ?? 0);
  const output = options.out === undefined ? new Float32Array(sample.length) : requireArray(f, 'out', options.out, Float32Array);
  const guided = options.guidedOut === undefined ? null : requireArray(f, 'guidedOut', options.guidedOut, Float32Array);
  const n = sample.length;
  const what = 'the length of sample';
  requireLength(f, 'out', output, n, what);
  requireLength(f, 'uncond', uncond, n, what);
  if (guided) requireLength(f, 'guidedOut', guided, n, what);
  if (cond) requireLength(f, 'cond', cond, n, what);
  if (noise) requireLength(f, 'noise', noise, n, what);
  const inputs: [string, Float32Array | null][] = [['sample', sample], ['uncond', uncond], ['cond', cond], ['noise', noise]];
  for (const [name, input] of inputs) if (input) requireElementwiseAlias(f, 'out', output, name, input);
  if (guided) {
    if (sharesMemory(guided, output)) throw new RangeError(`${f}: guidedOut shares memory with out; pass two separate arrays`);
    for (const [name, input] of inputs) if (input) requireElementwiseAlias(f, 'guidedOut', guided, name, input);
  }

  const addon = nativeAddon();
  if (addon !== undefined) {
    return addon.guidanceStep(output, guided, sample, uncond, cond, noise, guidanceScale, a, b, c);
  }
  guidanceStepJs(output, guided, sample, uncond, cond, noise, guidanceScale, a, b, c);
  return output;
}

/**
 * The TypeScript twin of the native kernel (same operations, same order, float64); no checks.
 *
 * @example
 * ```ts
 * const out = new Float32Array(sample.length);
 * guidanceStepJs(out, null, sample, uncond, cond, null, 7.5, 1, -0.4, 0);
 * ```
 */
export function guidanceStepJs(
  output: Float32Array, guidedOutput: Float32Array | null, sample: Float32Array, uncond: Float32Array,
  cond: Float32Array | null, noise: Float32Array | null, g: number, a: number, b: number, c: number,
): void {
  for (let i = 0; i < sample.length; i++) {
    const u = uncond[i]!;
    const guided = cond !== null ? u + g * (cond[i]! - u) : u;
    let next = a * sample[i]! + b * guided;
    if (noise !== null) next += c * noise[i]!;
    if (guidedOutput !== null) guidedOutput[i] = guided;
    output[i] = next;
  }
}
