/**
 * Checks the arguments of a multi-head attention call and derives its shape, exactly as the
 * addon's own checks do (src/attention-binding.cc), so both paths reject the same inputs.
 */
import { requireArray, requireFiniteNumber, requireInteger, sharesMemory } from './argument-checks';

/** The largest head width the kernels accept. */
export const MAX_HEAD_DIM = 256;

/** Options of {@link multiHeadAttention} and {@link multiHeadAttentionAsync}. */
export interface MultiHeadAttentionOptions {
  /** Sequences in the batch (the first axis of Q, K and V). */
  batch: number;
  /** Attention heads; the last axis of Q, K and V is `heads · headDim`. */
  heads: number;
  /** Width of one head, 1 to 256 (SD 1.5 uses 40, 80 and 160; SD 2 uses 64). */
  headDim: number;
  /** Multiplies Q·Kᵀ before the softmax; default `1 / √headDim`. */
  scale?: number;
  /**
   * Key padding mask `[batch, keyLength]`: nonzero attends, 0 ignores that key (as ONNX Runtime's
   * `key_padding_mask`). A query whose keys are all masked gets an output row of zeros.
   */
  mask?: Uint8Array;
  /** Where to write the result (same length as `query`, not sharing memory with any input). */
  out?: Float32Array;
}

/** A fully checked attention problem. */
export interface AttentionShape {
  query: Float32Array;
  key: Float32Array;
  value: Float32Array;
  /** `options.out`, or a new array (an empty one when `allocateOutput` was false and no `out` was given). */
  output: Float32Array;
  /** Whether the caller passed `options.out`. */
  outputGiven: boolean;
  mask: Uint8Array | null;
  batch: number;
  heads: number;
  headDim: number;
  queryLength: number;
  keyLength: number;
  scale: number;
}

/**
 * Validates the arguments; throws TypeError / RangeError naming what was received and what is expected.
 *
 * @example
 * ```ts
 * const shape = resolveAttentionShape('myAttention', q, k, v, { batch: 2, heads: 8, headDim: 40 });
 * shape.queryLength; // q.length / (2 · 8 · 40)
 * ```
 */
export function resolveAttentionShape(
  functionName: string, query: unknown, key: unknown, value: unknown, options: MultiHeadAttentionOptions,
  allocateOutput = true,
): AttentionShape {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${functionName}: options must be an object { batch, heads, headDim, scale?, mask?, out? }`);
  }
  const q = requireArray(functionName, 'query', query, Float32Array);
  const k = requireArray(functionName, 'key', key, Float32Array);
  const v = requireArray(functionName, 'value', value, Float32Array);
  const batch = requireInteger(functionName, 'batch', options.batch, 1, 2 ** 31);
  const heads = requireInteger(functionName, 'heads', options.heads, 1, 2 ** 20);
  const headDim = requireInteger(functionName, 'headDim', options.headDim, 1, MAX_HEAD_DIM);
  const scale = options.scale === undefined ? 1 / Math.sqrt(headDim) : requireFiniteNumber(functionName, 'scale', options.scale);
  const mask = options.mask === undefined ? null : requireArray(functionName, 'mask', options.mask, Uint8Array);
  const perSequence = batch * heads * headDim;
  const layout = `batch·heads·headDim = ${batch}·${heads}·${headDim} = ${perSequence}`;
  if (q.length % perSequence !== 0) {
    throw new RangeError(
      `${functionName}: query has ${q.length} elements, which is not a multiple of ${layout}; query must be [batch, queryLength, heads·headDim]`,
    );
  }
  if (k.length === 0 || k.length % perSequence !== 0) {
    throw new RangeError(
      `${functionName}: key has ${k.length} elements; expected a positive multiple of ${layout} (key must be [batch, keyLength ≥ 1, heads·headDim])`,
    );
  }
  if (v.length !== k.length) {
    throw new RangeError(`${functionName}: value has ${v.length} elements but key has ${k.length}; they must match`);
  }
  const keyLength = k.length / perSequence;
  if (mask !== null && mask.length !== batch * keyLength) {
    throw new RangeError(
      `${functionName}: mask has ${mask.length} elements; expected batch·keyLength = ${batch * keyLength}`,
    );
  }
  const outputGiven = options.out !== undefined;
  const output = outputGiven
    ? requireArray(functionName, 'out', options.out, Float32Array)
    : new Float32Array(allocateOutput ? q.length : 0);
  if (outputGiven && output.length !== q.length) {
    throw new RangeError(`${functionName}: out has ${output.length} elements but query has ${q.length}; they must match`);
  }
  if ([q, k, v, ...(mask ? [mask] : [])].some((input) => sharesMemory(output, input))) {
    throw new RangeError(`${functionName}: out shares memory with an input; pass a separate array`);
  }
  return { query: q, key: k, value: v, output, outputGiven, mask, batch, heads, headDim, queryLength: q.length / perSequence, keyLength, scale };
}
