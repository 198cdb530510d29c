/**
 * Fused multi-head attention, `softmax(Q·Kᵀ·scale)·V`, in the layout of ONNX Runtime's
 * `com.microsoft` MultiHeadAttention: Q `[batch, Nq, heads·d]`, K and V `[batch, Nk, heads·d]`.
 * The native kernel (AVX-512 / AVX2 / portable, all cores) serves the call when the addon is
 * built; otherwise the TypeScript twin does, with the same results to about 1e-6.
 */
import { resolveAttentionShape, type AttentionShape, type MultiHeadAttentionOptions } from './attention-shape';
import { flashAttentionJs } from './flash-attention-js';
import { nativeAddon } from './load-addon';

export type { MultiHeadAttentionOptions } from './attention-shape';

/**
 * Computes attention synchronously and returns the output (a new array, or `options.out`).
 * Best for small inputs; use {@link multiHeadAttentionAsync} to keep the event loop free.
 *
 * @example
 * ```ts
 * import { multiHeadAttention } from '@latentkit/native';
 * // SD 1.5 cross-attention: 4096 image tokens attend to 77 text tokens, 8 heads of 40.
 * const q = new Float32Array(1 * 4096 * 320), k = new Float32Array(1 * 77 * 320), v = new Float32Array(1 * 77 * 320);
 * const out = multiHeadAttention(q, k, v, { batch: 1, heads: 8, headDim: 40 });
 * ```
 */
export function multiHeadAttention(
  query: Float32Array, key: Float32Array, value: Float32Array, options: MultiHeadAttentionOptions,
): Float32Array {
  const shape = resolveAttentionShape('multiHeadAttention', query, key, value, options);
  const addon = nativeAddon();
  if (addon !== undefined) {
    return addon.multiHeadAttention(
      shape.query, shape.key, shape.value, shape.output, shape.mask,
      shape.batch, shape.heads, shape.headDim, shape.scale,
    );
  }
  flashAttentionJs(shape, 0, shape.batch * shape.heads);
  return shape.output;
}

/**
 * Computes attention off the event loop (native: on the libuv pool; the TypeScript twin yields
 * to the event loop between heads, with the same contract as below).
 *
 * The native call reads `query`, `key`, `value` and `mask` as they are when it is made (it
 * copies them, unless they live on a SharedArrayBuffer), so changing or transferring them
 * afterwards cannot affect or break it. It computes into memory of its own and copies the result
 * into `options.out` when it finishes; if `out`'s buffer was transferred (detached) meanwhile,
 * the promise rejects with a TypeError instead. Without `out` the result is a new array (no copy).
 *
 * @example
 * ```ts
 * import { multiHeadAttentionAsync } from '@latentkit/native';
 * const q = new Float32Array(2 * 1024 * 640), k = q.slice(), v = q.slice();
 * const out = await multiHeadAttentionAsync(q, k, v, { batch: 2, heads: 8, headDim: 80 });
 * ```
 */
export async function multiHeadAttentionAsync(
  query: Float32Array, key: Float32Array, value: Float32Array, options: MultiHeadAttentionOptions,
): Promise<Float32Array> {
  const addon = nativeAddon();
  const shape = resolveAttentionShape('multiHeadAttentionAsync', query, key, value, options, false);
  if (addon !== undefined) {
    return addon.multiHeadAttentionAsync(
      shape.query, shape.key, shape.value, shape.outputGiven ? shape.output : null, shape.mask,
      shape.batch, shape.heads, shape.headDim, shape.scale,
    );
  }
  // The twin keeps the native call's contract: inputs as they were at call time, the result
  // copied into `out` only if it is still attached.
  const own: AttentionShape = {
    ...shape,
    query: shape.query.slice(), key: shape.key.slice(), value: shape.value.slice(), mask: shape.mask?.slice() ?? null,
    output: new Float32Array(shape.query.length),
  };
  const tasks = own.batch * own.heads;
  for (let task = 0; task < tasks; task++) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    flashAttentionJs(own, task, task + 1);
  }
  if (!shape.outputGiven) return own.output;
  if (shape.output.length !== own.output.length) {
    const name = 'the output array (options.out)';
    throw new TypeError(
      `multiHeadAttentionAsync: ${name}'s ArrayBuffer was detached (transferred) or resized while the call was running, ` +
        `so the result could not be written (${own.output.byteLength} bytes expected, ${shape.output.byteLength} found); ` +
        `keep ${name} attached until the promise settles`,
    );
  }
  shape.output.set(own.output);
  return shape.output;
}
