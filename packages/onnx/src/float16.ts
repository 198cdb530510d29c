/**
 * IEEE 754 half precision for graphs exported with float16 inputs and outputs (optimum's
 * `--dtype fp16`, diffusers' converter with `--fp16`): latentkit computes in float32 and converts at
 * the graph's edge. onnxruntime-node carries float16 tensors as `Uint16Array` bit patterns.
 */
import type * as ort from 'onnxruntime-node';
import { InvalidArgumentError, createTensor, type Tensor } from '@latentkit/core';

const floatView = new Float32Array(1);
const bitsView = new Uint32Array(floatView.buffer);

/**
 * float32 → float16 bits, rounding to nearest even; overflow gives ±Infinity, NaN stays NaN.
 *
 * @example
 * ```ts
 * float32ToFloat16(Float32Array.of(1, 65504, 1e-8)); // Uint16Array [0x3c00, 0x7bff, 0x0000]
 * ```
 */
export function float32ToFloat16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    floatView[0] = values[i]!;
    const x = bitsView[0]!;
    const sign = (x >>> 16) & 0x8000;
    const exponent = (x >>> 23) & 0xff;
    let mantissa = x & 0x7fffff;
    if (exponent === 0xff) {
      out[i] = sign | 0x7c00 | (mantissa ? 0x200 : 0);
      continue;
    }
    const halfExponent = exponent - 127 + 15;
    if (halfExponent >= 0x1f) {
      out[i] = sign | 0x7c00;
      continue;
    }
    if (halfExponent <= 0) {
      if (halfExponent < -10) {
        out[i] = sign;
        continue;
      }
      // Subnormal: shift the implicit leading 1 in, then round to nearest even.
      mantissa |= 0x800000;
      const shift = 14 - halfExponent;
      let half = mantissa >>> shift;
      const rest = mantissa & ((1 << shift) - 1);
      const halfway = 1 << (shift - 1);
      if (rest > halfway || (rest === halfway && half & 1)) half++;
      out[i] = sign | half;
      continue;
    }
    let half = (halfExponent << 10) | (mantissa >>> 13);
    const rest = mantissa & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++; // may carry into the exponent: still correct
    out[i] = sign | half;
  }
  return out;
}

/**
 * float16 bits → float32 (exact).
 *
 * @example
 * ```ts
 * float16ToFloat32(Uint16Array.of(0x3c00, 0xc000)); // Float32Array [1, -2]
 * ```
 */
export function float16ToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i]!;
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >>> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    out[i] =
      exponent === 0 ? sign * mantissa * 2 ** -24 :
      exponent === 0x1f ? (mantissa ? NaN : sign * Infinity) :
      sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
  }
  return out;
}

/**
 * A float32 tensor as a feed of the graph's element type: as is for `'float32'`, converted for
 * `'float16'`.
 *
 * @example
 * ```ts
 * const feed = floatFeed(ort.Tensor, 'float16', latents); // ort float16 tensor (Uint16Array bits)
 * ```
 */
export function floatFeed(
  OrtTensor: typeof ort.Tensor,
  type: 'float32' | 'float16',
  tensor: Tensor<Float32Array>,
): ort.Tensor {
  return type === 'float16'
    ? new OrtTensor('float16', float32ToFloat16(tensor.data), tensor.dims)
    : new OrtTensor('float32', tensor.data, tensor.dims);
}

/**
 * An onnxruntime float32 or float16 output as a latentkit float32 tensor (float16 is converted).
 *
 * @example
 * ```ts
 * const noise = floatOutput(results.out_sample, "UNet output 'out_sample'");
 * ```
 */
export function floatOutput(tensor: ort.Tensor, what = 'tensor'): Tensor<Float32Array> {
  if (tensor.type === 'float32') return createTensor(tensor.dims, tensor.data as Float32Array);
  if (tensor.type === 'float16') {
    const data = tensor.data as unknown;
    // onnxruntime-node hands float16 out as Uint16Array bits (or Float16Array where the runtime has
    // one). Checked by tag, not instanceof: the array may come from another realm (jest's vm).
    const tag = Object.prototype.toString.call(data);
    const values = tag === '[object Uint16Array]' ? float16ToFloat32(data as Uint16Array) : Float32Array.from(data as ArrayLike<number>);
    return createTensor(tensor.dims, values);
  }
  throw new InvalidArgumentError({ name: what, expected: 'a float32 or float16 tensor', actual: tensor.type, hint: 'export the model with float outputs' });
}
