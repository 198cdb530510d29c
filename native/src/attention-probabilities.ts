/**
 * Attention probabilities averaged over heads, `mean_h softmax(Q_h·K_hᵀ·scale)`: what attention
 * processors capture to show which text token each image position attends to. Only for small
 * key lengths (cross-attention's 77 text tokens), where the `[batch, Nq, Nk]` result is small;
 * the fused kernel never forms this matrix. TypeScript, accumulating in float64; it runs only for
 * the layers a caller chooses to capture.
 */
import { requireArray } from './argument-checks';
import { resolveAttentionShape, type MultiHeadAttentionOptions } from './attention-shape';

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
  const stride = heads * headDim;
  const out = new Float32Array(batch * queryLength * keyLength);
  const scores = new Float64Array(keyLength);
  const sum = new Float64Array(keyLength);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < queryLength; i++) {
      sum.fill(0);
      const queryRow = (b * queryLength + i) * stride;
      for (let h = 0; h < heads; h++) {
        let maximum = -Infinity;
        for (let j = 0; j < keyLength; j++) {
          if (mask !== null && mask[b * keyLength + j] === 0) {
            scores[j] = -Infinity;
            continue;
          }
          const keyRow = (b * keyLength + j) * stride + h * headDim;
          let dot = 0;
          for (let c = 0; c < headDim; c++) dot += query[queryRow + h * headDim + c]! * checkedKey[keyRow + c]!;
          scores[j] = dot * scale;
          if (scores[j]! > maximum) maximum = scores[j]!;
        }
        if (maximum === -Infinity) continue; // every key masked: this head contributes zeros
        let total = 0;
        for (let j = 0; j < keyLength; j++) {
          scores[j] = Math.exp(scores[j]! - maximum);
          total += scores[j]!;
        }
        for (let j = 0; j < keyLength; j++) sum[j]! += scores[j]! / total;
      }
      const row = (b * queryLength + i) * keyLength;
      for (let j = 0; j < keyLength; j++) out[row + j] = sum[j]! / heads;
    }
  }
  return out;
}
