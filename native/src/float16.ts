/**
 * IEEE 754 binary16 ⇄ binary32 conversion for fp16 model inputs and outputs (onnxruntime's
 * `float16` tensors are `Uint16Array`s of bits). Round to nearest even; ±infinity and NaN are
 * kept (NaN quiet, payload's top bits kept, as the F16C instructions do). The native path uses
 * F16C where the CPU has it; the TypeScript twin gives identical bits.
 */
import { requireArray, requireLength, sharesMemory } from './argument-checks';
import { nativeAddon } from './load-addon';

// One float32 seen as its bits (both views share 4 bytes; endianness does not matter here).
const floatView = new Float32Array(1);
const bitsView = new Uint32Array(floatView.buffer);

function bitsOf(value: number): number {
  floatView[0] = value;
  return bitsView[0]!;
}

function floatOf(bits: number): number {
  bitsView[0] = bits >>> 0;
  return floatView[0]!;
}

const HALF_MAGIC = floatOf(126 << 23); // 0.5

/**
 * One float32 value to float16 bits (the twin of the native kernel).
 *
 * @example
 * ```ts
 * float32ToFloat16Bits(1); // 0x3c00
 * ```
 */
export function float32ToFloat16Bits(value: number): number {
  let bits = bitsOf(value);
  const sign = (bits >>> 16) & 0x8000;
  bits &= 0x7fffffff;
  let half: number;
  if (bits >= 0x47800000) {
    half = bits > 0x7f800000 ? 0x7e00 | ((bits >>> 13) & 0x3ff) : 0x7c00;
  } else if (bits < 0x38800000) {
    // Adding 0.5 aligns the 10 subnormal mantissa bits at the bottom; the float32 addition
    // (fround of an exact double sum) rounds to nearest even.
    half = bitsOf(Math.fround(floatOf(bits) + HALF_MAGIC)) - (126 << 23);
  } else {
    const odd = (bits >>> 13) & 1;
    half = (bits + ((15 - 127) << 23) + 0xfff + odd) >>> 13;
  }
  return (half | sign) & 0xffff;
}

/**
 * float16 bits to the float32 value they denote (exact).
 *
 * @example
 * ```ts
 * float16BitsToFloat32(0xc000); // -2
 * ```
 */
export function float16BitsToFloat32(half: number): number {
  const sign = (half & 0x8000) << 16;
  const exponent = (half >>> 10) & 0x1f;
  const mantissa = half & 0x3ff;
  if (exponent === 0x1f) return floatOf(sign | 0x7f800000 | (mantissa << 13) | (mantissa !== 0 ? 0x400000 : 0));
  if (exponent === 0) return (sign !== 0 ? -mantissa : mantissa) * 2 ** -24; // subnormal, exact
  return floatOf(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

/**
 * Converts float32 values to float16 bits.
 *
 * @example
 * ```ts
 * import { float32ToFloat16 } from '@latentkit/native';
 * const halves = float32ToFloat16(new Float32Array([1, 0.1, 65504])); // Uint16Array [0x3c00, 0x2e66, 0x7bff]
 * ```
 */
export function float32ToFloat16(input: Float32Array, out?: Uint16Array): Uint16Array {
  const f = 'float32ToFloat16';
  requireArray(f, 'input', input, Float32Array);
  const output = out === undefined ? new Uint16Array(input.length) : requireArray(f, 'out', out, Uint16Array);
  requireLength(f, 'out', output, input.length, 'the length of input');
  if (sharesMemory(input, output)) throw new RangeError(`${f}: output shares memory with input`);
  const addon = nativeAddon();
  if (addon !== undefined) return addon.float32ToFloat16(input, output);
  for (let i = 0; i < input.length; i++) output[i] = float32ToFloat16Bits(input[i]!);
  return output;
}

/**
 * Converts float16 bits to float32 values (exact: every float16 is a float32).
 *
 * @example
 * ```ts
 * import { float16ToFloat32 } from '@latentkit/native';
 * const values = float16ToFloat32(new Uint16Array([0x3c00, 0xc000])); // Float32Array [1, -2]
 * ```
 */
export function float16ToFloat32(input: Uint16Array, out?: Float32Array): Float32Array {
  const f = 'float16ToFloat32';
  requireArray(f, 'input', input, Uint16Array);
  const output = out === undefined ? new Float32Array(input.length) : requireArray(f, 'out', out, Float32Array);
  requireLength(f, 'out', output, input.length, 'the length of input');
  if (sharesMemory(input, output)) throw new RangeError(`${f}: output shares memory with input`);
  const addon = nativeAddon();
  if (addon !== undefined) return addon.float16ToFloat32(input, output);
  for (let i = 0; i < input.length; i++) output[i] = float16BitsToFloat32(input[i]!);
  return output;
}
