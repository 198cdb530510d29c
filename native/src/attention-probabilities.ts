/**
 * Attention probabilities averaged over heads, `mean_h softmax(Q_h·K_hᵀ·scale)`: what attention
 * processors capture to show which text token each image position attends to. Only for small
 * key lengths (cross-attention's 77 text tokens), where the `[batch, Nq, Nk]` result is small;
 * the fused kernel never forms this matrix. Accumulates in float64; the addon computes it on all
 * cores (src/attention-probabilities.cc), the TypeScript twin (attention-probabilities-js.ts)
 * serves the call when the addon is not loaded, with the same results.
 */
import { requireArray } from './argument-checks';
import { attentionProbabilitiesJs } from './attention-probabilities-js';
import { resolveAttentionShape, type MultiHeadAttentionOptions } from './attention-shape';
import { nativeAddon } from './load-addon';

/** The largest key length {@link attentionProbabilities} accepts (its output grows with Nq·Nk). */
export const MAX_PROBABILITY_KEYS = 1024;

/**
 * Returns `[batch, Nq, Nk]` probabilities averaged over heads; each row sums to 1 (to about 1e-6).
 * Arguments are checked as {@link multiHeadAttention}'s; `value` is not needed.
 *
 * @example
 * ```ts
 * import { attentionProbabilities } from '@latentkit/native';
 * // 256 image tokens attend to 77 text tokens, 8 heads of 40
 * const probabilities = attentionProbabilities(q, k, { batch: 1, heads: 8, headDim: 40 }); // 256·77 values
 * ```
 */
export function attentionProbabilities(query: Float32Array, key: Float32Array, options: Omit<MultiHeadAttentionOptions, 'out'>): Float32Array {
  const checkedKey = requireArray('attentionProbabilities', 'key', key, Float32Array);
  const shape = resolveAttentionShape('attentionProbabilities', query, checkedKey, checkedKey, { ...options, out: undefined });
  const { batch, heads, headDim, queryLength, keyLength, scale, mask } = shape;
  if (keyLength > MAX_PROBABILITY_KEYS) {
    throw new RangeError(
      `attentionProbabilities: key length ${keyLength} is above ${MAX_PROBABILITY_KEYS}; capture cross-attention (77 text tokens), not self-attention`,
    );
  }
  const out = new Float32Array(batch * queryLength * keyLength);
  const addon = nativeAddon();
  if (addon?.attentionProbabilities !== undefined) {
    return addon.attentionProbabilities(shape.query, shape.key, out, mask, batch, heads, headDim, scale);
  }
  return attentionProbabilitiesJs(shape, out);
}
