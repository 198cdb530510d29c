/** Assertions on latentkit tensors, with messages that say what was expected and what came. */
import assert from 'node:assert/strict';
import { formatDims, numel, type Tensor, type TensorData } from '@latentkit/core';

/**
 * Asserts a float32 tensor of the given shape (`null` = any size) whose elements are all finite.
 *
 * @example
 * ```ts
 * assertFiniteFloat32('hiddenStates', output.hiddenStates, [2, 77, 768]);
 * ```
 */
export function assertFiniteFloat32(name: string, tensor: Tensor<TensorData> | undefined, expectedDims: readonly (number | null)[]): void {
  assert.ok(tensor && typeof tensor === 'object', `${name} must be a tensor { dims, data }, got ${String(tensor)}`);
  assert.ok(
    tensor.data instanceof Float32Array,
    `${name}.data must be a Float32Array, got ${(tensor.data as object | undefined)?.constructor?.name ?? typeof tensor.data}`,
  );
  const matches = tensor.dims.length === expectedDims.length && expectedDims.every((d, i) => d === null || d === tensor.dims[i]);
  assert.ok(matches, `${name} must have shape ${formatDims(expectedDims)}, got ${formatDims(tensor.dims)}`);
  assertEqual(tensor.data.length, numel(tensor.dims), `${name}.data must hold ${numel(tensor.dims)} elements for ${formatDims(tensor.dims)}`);
  for (let i = 0; i < tensor.data.length; i++) {
    const value = tensor.data[i] as number;
    if (!Number.isFinite(value)) assert.fail(`${name} must be finite, but element ${i} of ${tensor.data.length} is ${value}`);
  }
}

/**
 * The largest absolute difference between two equally long arrays.
 *
 * @example
 * ```ts
 * maxAbsDifference(actual.data, expected.data); // e.g. 3.1e-7
 * ```
 */
export function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assertEqual(a.length, b.length, `arrays to compare differ in length: ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

/**
 * Asserts |a − b| ≤ tolerance element-wise, naming the worst element when it fails.
 *
 * @example
 * ```ts
 * assertClose('latents after step 3', latents.data, reference, 1e-5);
 * ```
 */
export function assertClose(name: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number): void {
  assertEqual(actual.length, expected.length, `${name}: expected ${expected.length} elements, got ${actual.length}`);
  let worst = -1;
  let worstDifference = 0;
  for (let i = 0; i < actual.length; i++) {
    const difference = Math.abs(actual[i]! - expected[i]!);
    if (!(difference <= worstDifference)) {
      worst = i;
      worstDifference = difference;
    }
  }
  if (worst >= 0 && !(worstDifference <= tolerance)) {
    assert.fail(
      `${name}: element ${worst} is ${actual[worst]} but ${expected[worst]} is expected ` +
        `(|difference| ${worstDifference} > tolerance ${tolerance})`,
    );
  }
}

/**
 * Asserts `actual === expected` (Object.is) with exactly the message given, and no diff appended.
 *
 * @example
 * ```ts
 * assertEqual(encoder.hiddenSize, 768, `hiddenSize must be 768, got ${encoder.hiddenSize}`);
 * ```
 */
export function assertEqual(actual: unknown, expected: unknown, message: string): void {
  if (!Object.is(actual, expected)) throw new assert.AssertionError({ message });
}
