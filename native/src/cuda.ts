/**
 * The CUDA entry points: {@link cudaInfo} says whether CUDA was compiled in and which devices
 * there are; {@link cudaMultiHeadAttention} runs the FlashAttention kernel on the first device
 * for float32 (`Float32Array`) or float16 (`Uint16Array` of bits) data. Without a device (or
 * without the addon) they report a clear error, never crash.
 */
import { requireFiniteNumber, requireInteger, sharesMemory } from './argument-checks';
import { MAX_HEAD_DIM } from './attention-shape';
import { addonLoadResult, type CudaDeviceDescription } from './load-addon';

export type { CudaDeviceDescription } from './load-addon';

/** What {@link cudaInfo} reports. */
export interface CudaInfo {
  /** The addon is loaded and was built with the CUDA toolkit. */
  compiled: boolean;
  /** The CUDA runtime version compiled in, e.g. 13000 for 13.0 (0 when not compiled). */
  runtimeVersion: number;
  deviceCount: number;
  devices: CudaDeviceDescription[];
  /** Why no device can be used (absent when one can). */
  error?: string;
}

/**
 * Whether CUDA can serve calls in this process.
 *
 * @example
 * ```ts
 * import { cudaInfo } from '@latentkit/native';
 * const info = cudaInfo();
 * console.log(info.compiled, info.deviceCount, info.error ?? info.devices[0]?.name);
 * ```
 */
export function cudaInfo(): CudaInfo {
  const { addon, reason } = addonLoadResult();
  if (addon === undefined) {
    return { compiled: false, runtimeVersion: 0, deviceCount: 0, devices: [], error: reason };
  }
  return addon.cudaInfo();
}

/** Options of {@link cudaMultiHeadAttention}. */
export interface CudaMultiHeadAttentionOptions {
  batch: number;
  heads: number;
  headDim: number;
  /** Default `1 / √headDim`. */
  scale?: number;
  /** Key padding mask `[batch, keyLength]`, nonzero = attend. */
  mask?: Uint8Array;
  /** Output array of the same type and length as `query`. */
  out?: Float32Array | Uint16Array;
}

/**
 * Multi-head attention on the GPU (same layout and semantics as {@link multiHeadAttention});
 * the host arrays are uploaded, computed on the device, and the result downloaded.
 * Throws an Error naming the cause when CUDA is not compiled in or no device is present.
 *
 * @example
 * ```ts
 * import { cudaInfo, cudaMultiHeadAttention, float32ToFloat16 } from '@latentkit/native';
 * if (cudaInfo().deviceCount > 0) {
 *   const q = float32ToFloat16(new Float32Array(2 * 4096 * 320)), k = q.slice(), v = q.slice();
 *   const out = cudaMultiHeadAttention(q, k, v, { batch: 2, heads: 8, headDim: 40 }); // Uint16Array
 * }
 * ```
 */
export function cudaMultiHeadAttention<T extends Float32Array | Uint16Array>(
  query: T, key: T, value: T, options: CudaMultiHeadAttentionOptions,
): T {
  const f = 'cudaMultiHeadAttention';
  if (!(query instanceof Float32Array) && !(query instanceof Uint16Array)) {
    throw new TypeError(`${f}: query must be a Float32Array (float32) or a Uint16Array (float16 bits)`);
  }
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${f}: options must be an object { batch, heads, headDim, scale?, mask?, out? }`);
  }
  const { addon, reason } = addonLoadResult();
  if (addon === undefined) throw new Error(`${f}: CUDA needs the native addon, which is not loaded: ${reason}`);
  const headDim = requireInteger(f, 'headDim', options.headDim, 1, MAX_HEAD_DIM);
  const scale = options.scale === undefined ? 1 / Math.sqrt(headDim) : requireFiniteNumber(f, 'scale', options.scale);
  const output = (options.out ?? (query instanceof Float32Array ? new Float32Array(query.length) : new Uint16Array(query.length))) as T;
  if (sharesMemory(output, query)) throw new RangeError(`${f}: out shares memory with query; pass a separate array`);
  // The addon checks every remaining type, length and overlap before it touches memory.
  return addon.cudaMultiHeadAttention(query, key, value, output, options.mask ?? null, options.batch, options.heads, headDim, scale);
}
