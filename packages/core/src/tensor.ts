/**
 * A minimal tensor: a flat typed array in row-major order and its dimensions.
 *
 * latentkit passes these between components; onnxruntime's tensors convert to and from it
 * without copying (see {@link fromOrtTensor} / {@link toOrtTensor}), and this package does not
 * depend on onnxruntime.
 */
import { InvalidArgumentError } from './errors';

/** The element storage a latentkit tensor may hold. */
export type TensorData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array;

/** A tensor: `data.length` equals the product of `dims`. */
export interface Tensor<D extends TensorData = Float32Array> {
  readonly dims: readonly number[];
  readonly data: D;
}

/** The number of elements of a shape. */
export function numel(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** `[1, 4, 8, 8]` → `"[1, 4, 8, 8]"`. */
export function formatDims(dims: readonly (number | string | null | undefined)[]): string {
  return `[${dims.map((d) => (d === null || d === undefined ? '?' : String(d))).join(', ')}]`;
}

/**
 * Builds a tensor, checking that the data length matches the shape.
 *
 * @example
 * ```ts
 * const latents = createTensor([1, 4, 64, 64], new Float32Array(4 * 64 * 64));
 * ```
 */
export function createTensor<D extends TensorData>(dims: readonly number[], data: D): Tensor<D> {
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0) {
      throw new InvalidArgumentError({ name: 'dims', expected: 'non-negative integers', actual: dims });
    }
  }
  if (data.length !== numel(dims)) {
    throw new InvalidArgumentError({
      name: 'data',
      expected: `${numel(dims)} elements for shape ${formatDims(dims)}`,
      actual: data,
      hint: `it has ${data.length}`,
    });
  }
  return { dims: Object.freeze([...dims]), data };
}

/** A float32 tensor of zeros. */
export function zeros(dims: readonly number[]): Tensor<Float32Array> {
  return createTensor(dims, new Float32Array(numel(dims)));
}

/**
 * Checks a tensor's shape. `null` in `expected` accepts any size on that axis.
 * Throws an {@link InvalidArgumentError} naming the argument, the expected and the actual shape.
 */
export function assertShape(name: string, tensor: Tensor<TensorData>, expected: readonly (number | null)[]): void {
  const ok =
    tensor.dims.length === expected.length && expected.every((e, i) => e === null || e === tensor.dims[i]);
  if (!ok) {
    throw new InvalidArgumentError({
      name,
      expected: `a tensor of shape ${formatDims(expected)}`,
      actual: formatDims(tensor.dims),
    });
  }
  if (tensor.data.length !== numel(tensor.dims)) {
    throw new InvalidArgumentError({
      name,
      expected: `${numel(tensor.dims)} elements for shape ${formatDims(tensor.dims)}`,
      actual: tensor.data.length,
    });
  }
}

/** Checks that two tensors have the same shape. */
export function assertSameShape(name: string, a: Tensor<TensorData>, b: Tensor<TensorData>): void {
  assertShape(name, b, a.dims);
}

/** True when every element is finite (no NaN or infinity). */
export function isFinite(data: ArrayLike<number>): boolean {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v - v !== 0) return false;
  }
  return true;
}

/** Concatenates float32 tensors along axis 0 (the batch axis); the other axes must match. */
export function concatBatch(tensors: readonly Tensor<Float32Array>[]): Tensor<Float32Array> {
  if (tensors.length === 0) throw new InvalidArgumentError({ name: 'tensors', expected: 'at least one tensor', actual: [] });
  const rest = tensors[0]!.dims.slice(1);
  let batch = 0;
  for (const [i, t] of tensors.entries()) {
    assertShape(`tensors[${i}]`, t, [null, ...rest]);
    batch += t.dims[0]!;
  }
  const out = new Float32Array(batch * numel(rest));
  let offset = 0;
  for (const t of tensors) {
    out.set(t.data, offset);
    offset += t.data.length;
  }
  return createTensor([batch, ...rest], out);
}

/** Splits a float32 tensor along axis 0 into `parts` equal tensors (views, no copy). */
export function splitBatch(tensor: Tensor<Float32Array>, parts: number): Tensor<Float32Array>[] {
  const batch = tensor.dims[0] ?? 0;
  if (!Number.isInteger(parts) || parts < 1 || batch % parts !== 0) {
    throw new InvalidArgumentError({ name: 'parts', expected: `a divisor of the batch size ${batch}`, actual: parts });
  }
  const dims = [batch / parts, ...tensor.dims.slice(1)];
  const size = numel(dims);
  return Array.from({ length: parts }, (_, i) => createTensor(dims, tensor.data.subarray(i * size, (i + 1) * size)));
}

/** Repeats each batch entry `times` times in place order (`[a, b]` → `[a, a, b, b]`), as torch's repeat_interleave. */
export function repeatInterleaveBatch(tensor: Tensor<Float32Array>, times: number): Tensor<Float32Array> {
  const [batch = 0, ...rest] = tensor.dims;
  const size = numel(rest);
  const out = new Float32Array(batch * times * size);
  for (let b = 0; b < batch; b++) {
    const item = tensor.data.subarray(b * size, (b + 1) * size);
    for (let r = 0; r < times; r++) out.set(item, (b * times + r) * size);
  }
  return createTensor([batch * times, ...rest], out);
}

/** The structural shape of an onnxruntime tensor (`ort.Tensor`), so that core need not depend on it. */
export interface OrtTensorLike {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: unknown;
}

const ORT_TYPES: Record<string, string> = {
  Float32Array: 'float32',
  Float64Array: 'float64',
  Int32Array: 'int32',
  BigInt64Array: 'int64',
  Uint8Array: 'uint8',
  Uint16Array: 'float16',
};

/** The onnxruntime element type name for a tensor's data (`Uint16Array` holds float16 bits). */
export function ortTypeOf(data: TensorData): string {
  const type = ORT_TYPES[data.constructor.name];
  if (!type) throw new InvalidArgumentError({ name: 'data', expected: 'a supported typed array', actual: data });
  return type;
}

/**
 * Wraps a latentkit tensor as an onnxruntime tensor without copying.
 *
 * @example
 * ```ts
 * import * as ort from 'onnxruntime-node';
 * const feed = { sample: toOrtTensor(ort.Tensor, latents) };
 * ```
 */
export function toOrtTensor<T>(
  OrtTensor: new (type: never, data: never, dims: readonly number[]) => T,
  tensor: Tensor<TensorData>,
): T {
  return new OrtTensor(ortTypeOf(tensor.data) as never, tensor.data as never, tensor.dims);
}

/** Views an onnxruntime tensor as a latentkit tensor (no copy). */
export function fromOrtTensor(tensor: OrtTensorLike): Tensor<TensorData> {
  const data = tensor.data;
  if (!ArrayBuffer.isView(data) || data instanceof DataView) {
    throw new InvalidArgumentError({ name: 'tensor.data', expected: 'a typed array (a CPU tensor)', actual: data });
  }
  return createTensor(tensor.dims, data as TensorData);
}

/** Views an onnxruntime float32 tensor as a latentkit float32 tensor, refusing other types. */
export function fromOrtFloat32(tensor: OrtTensorLike, what = 'tensor'): Tensor<Float32Array> {
  if (tensor.type !== 'float32') {
    throw new InvalidArgumentError({
      name: what,
      expected: 'a float32 tensor',
      actual: tensor.type,
      hint: 'export the model with float32 outputs or cast them',
    });
  }
  return fromOrtTensor(tensor) as Tensor<Float32Array>;
}
