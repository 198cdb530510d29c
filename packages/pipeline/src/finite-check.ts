/**
 * Where a NaN came from. A NaN anywhere in the loop ends as a black image; checking each stage's
 * output once (a linear scan, negligible next to a UNet call) names the first stage that produced
 * one, so that the message points at the right fix.
 */
import { NonFiniteValueError, type Tensor } from '@latentkit/core';

/** The index of the first NaN or ±∞, or -1. */
export function firstNonFinite(data: Float32Array): number {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v - v !== 0) return i;
  }
  return -1;
}

/**
 * Throws a {@link NonFiniteValueError} naming `source` when `tensor` holds a NaN or ±∞.
 *
 * @example
 * ```ts
 * assertFinite(noise, 'model output', 'step 3 (t=741)', 'the UNet produced it from finite inputs: fp16 overflow? run the UNet in float32');
 * ```
 */
export function assertFinite(tensor: Tensor<Float32Array>, source: string, where: string | undefined, hint: string): void {
  const index = firstNonFinite(tensor.data);
  if (index >= 0) throw new NonFiniteValueError({ source, where, index, value: tensor.data[index]!, hint });
}
