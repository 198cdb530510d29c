/**
 * The TypeScript twin of the addon's `attentionProbabilities` (src/attention-probabilities.cc):
 * head-averaged `softmax(Q_h·K_hᵀ·scale)` rows in float64, the same loops in the same order, so
 * both give the same float32 results (up to the last bit of `exp`). Serves the call when the
 * addon is not loaded.
 */
import type { AttentionShape } from './attention-shape';

/**
 * Writes `[batch, Nq, Nk]` head-averaged probabilities into `out`. `shape` was validated by
 * `resolveAttentionShape`; a head whose keys are all masked contributes zeros.
 *
 * @example
 * ```ts
 * const shape = resolveAttentionShape('attentionProbabilities', q, k, k, { batch: 1, heads: 8, headDim: 40 });
 * attentionProbabilitiesJs(shape, new Float32Array(shape.batch * shape.queryLength * shape.keyLength));
 * ```
 */
export function attentionProbabilitiesJs(shape: AttentionShape, out: Float32Array): Float32Array {
  const { query, key, batch, heads, headDim, queryLength, keyLength, scale, mask } = shape;
  const stride = heads * headDim;
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
          for (let c = 0; c < headDim; c++) dot += query[queryRow + h * headDim + c]! * key[keyRow + c]!;
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
