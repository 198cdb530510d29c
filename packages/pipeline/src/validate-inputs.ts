/**
 * Checks of every pipeline argument, run before any compute. Each failure is an
 * {@link InvalidArgumentError} naming the argument, what was received and what to pass instead.
 */
import { InvalidArgumentError, type Generator, type Tensor } from '@latentkit/core';

/** A prompt or a list of prompts → a non-empty list of non-empty strings. */
export function promptList(name: string, prompt: unknown): string[] {
  const list = Array.isArray(prompt) ? prompt : [prompt];
  if (list.length === 0) throw new InvalidArgumentError({ name, expected: 'a prompt or a non-empty list of prompts', actual: prompt });
  list.forEach((p, i) => {
    const label = Array.isArray(prompt) ? `${name}[${i}]` : name;
    if (typeof p !== 'string') throw new InvalidArgumentError({ name: label, expected: 'a string', actual: p });
    if (p.trim().length === 0) {
      throw new InvalidArgumentError({ name: label, expected: 'a non-empty prompt', actual: p, hint: 'describe the image; to clean an image without a prompt use denoise()' });
    }
  });
  return list as string[];
}

/** The negative prompt(s): one per prompt, or one for all; empty strings allowed (the default). */
export function negativePromptList(negative: unknown, count: number): string[] {
  if (negative === undefined) return new Array<string>(count).fill('');
  if (typeof negative === 'string') return new Array<string>(count).fill(negative);
  if (!Array.isArray(negative) || negative.length !== count || negative.some((n) => typeof n !== 'string')) {
    throw new InvalidArgumentError({
      name: 'negativePrompt',
      expected: `a string or a list of ${count} string${count === 1 ? '' : 's'} (one per prompt)`,
      actual: negative,
    });
  }
  return negative as string[];
}

export function positiveInteger(name: string, value: unknown, fallback: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new InvalidArgumentError({ name, expected: 'a positive integer', actual: v });
  return v;
}

export function finiteNumber(name: string, value: unknown, fallback: number, minimum = -Infinity): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < minimum) {
    throw new InvalidArgumentError({ name, expected: minimum === -Infinity ? 'a finite number' : `a finite number ≥ ${minimum}`, actual: v });
  }
  return v;
}

/** `strength` ∈ (0, 1], and large enough that at least one step runs. */
export function strengthValue(value: unknown, fallback: number, numInferenceSteps: number): number {
  const strength = value ?? fallback;
  if (typeof strength !== 'number' || !(strength > 0 && strength <= 1)) {
    throw new InvalidArgumentError({ name: 'strength', expected: 'a number in (0, 1]', actual: strength, hint: '1 ignores the image, small values keep it' });
  }
  if (Math.floor(numInferenceSteps * strength) < 1) {
    throw new InvalidArgumentError({
      name: 'strength',
      expected: `at least ${1 / numInferenceSteps} with numInferenceSteps ${numInferenceSteps}`,
      actual: strength,
      hint: 'strength × numInferenceSteps steps run; raise either',
    });
  }
  return strength;
}

/** An image side: a positive multiple of the VAE scale factor. */
export function imageSide(name: string, value: unknown, fallback: number, scaleFactor: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < scaleFactor || v % scaleFactor !== 0) {
    const n = typeof v === 'number' && Number.isFinite(v) ? v : fallback;
    const below = Math.max(scaleFactor, Math.floor(n / scaleFactor) * scaleFactor);
    const above = Math.max(scaleFactor, Math.ceil(n / scaleFactor) * scaleFactor);
    throw new InvalidArgumentError({
      name,
      expected: `a positive multiple of the VAE scale factor ${scaleFactor}`,
      actual: v,
      hint: below === above ? `use ${below}` : `use ${below} or ${above}`,
    });
  }
  return v;
}

/** The source of randomness: a seed, a generator, or neither (a random seed); not both. */
export function randomSource(seed: unknown, generator: unknown): { seed?: number | bigint; generator?: Generator } {
  if (seed !== undefined && generator !== undefined) {
    throw new InvalidArgumentError({ name: 'seed', expected: 'absent when a generator is given', actual: seed, hint: 'pass either seed or generator' });
  }
  if (seed !== undefined) {
    if (typeof seed === 'number' && Number.isInteger(seed) && seed > Number.MAX_SAFE_INTEGER) {
      throw new InvalidArgumentError({
        name: 'seed',
        expected: `an integer ≤ 2^53 − 1 = ${Number.MAX_SAFE_INTEGER} (larger numbers lose their low bits in JavaScript)`,
        actual: seed,
        hint: 'pass a bigint for seeds up to 2^64 − 1 (torch.Generator.manual_seed takes those)',
      });
    }
    const ok = (typeof seed === 'number' && Number.isSafeInteger(seed) && seed >= 0) || (typeof seed === 'bigint' && seed >= 0n && seed < 2n ** 64n);
    if (!ok) throw new InvalidArgumentError({ name: 'seed', expected: 'a non-negative integer (a number up to 2^53 − 1, or a bigint below 2^64)', actual: seed });
    return { seed: seed as number | bigint };
  }
  if (generator !== undefined) {
    const g = generator as Partial<Generator>;
    if (typeof g !== 'object' || g === null || typeof g.randn !== 'function') {
      throw new InvalidArgumentError({ name: 'generator', expected: 'a Generator (e.g. new TorchGenerator(42))', actual: generator });
    }
    return { generator: generator as Generator };
  }
  return {};
}

/** User-given starting latents must have the run's exact shape. */
export function latentsValue(value: unknown, dims: readonly number[]): Tensor<Float32Array> | undefined {
  if (value === undefined) return undefined;
  const t = value as Partial<Tensor<Float32Array>>;
  const ok =
    typeof t === 'object' && t !== null && t.data instanceof Float32Array && Array.isArray(t.dims) &&
    t.dims.length === dims.length && t.dims.every((d, i) => d === dims[i]) && t.data.length === dims.reduce((a, b) => a * b, 1);
  if (ok) {
    const data = (t as Tensor<Float32Array>).data;
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i]!)) {
        throw new InvalidArgumentError({ name: 'latents', expected: 'finite values', actual: data[i], hint: `element ${i} is not finite: NaN latents give a black image` });
      }
    }
  }
  if (!ok) {
    throw new InvalidArgumentError({
      name: 'latents',
      expected: `a float32 tensor of shape [${dims.join(', ')}] (batch × images per prompt, channels, height / scale, width / scale)`,
      actual: (t as { dims?: unknown })?.dims ?? value,
    });
  }
  return value as Tensor<Float32Array>;
}

export function optionalFunction<T>(name: string, value: unknown): T | undefined {
  if (value !== undefined && typeof value !== 'function') throw new InvalidArgumentError({ name, expected: 'a function', actual: value });
  return value as T | undefined;
}

export function optionalBoolean(name: string, value: unknown): boolean | undefined {
  if (value !== undefined && typeof value !== 'boolean') throw new InvalidArgumentError({ name, expected: 'true or false', actual: value });
  return value as boolean | undefined;
}

export function optionalSignal(value: unknown): AbortSignal | undefined {
  if (value !== undefined && !(value instanceof AbortSignal)) throw new InvalidArgumentError({ name: 'signal', expected: 'an AbortSignal', actual: value });
  return value as AbortSignal | undefined;
}

export function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[], fallback: T): T {
  const v = value ?? fallback;
  if (!allowed.includes(v as T)) throw new InvalidArgumentError({ name, expected: allowed.map((a) => `'${a}'`).join(' or '), actual: v });
  return v as T;
}
