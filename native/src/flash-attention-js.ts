/**
 * The TypeScript twin of the native attention kernel: the same tiled online softmax
 * (FlashAttention, Dao et al. 2022, Algorithm 1), so memory stays linear in the sequence
 * length here too. Accumulates in float64; results agree with the native kernel to about
 * 1e-6 relative (the native kernel accumulates in float32).
 */
import type { AttentionShape } from './attention-shape';

/** Keys per block of the online softmax. */
const KEY_BLOCK = 128;

/**
 * Computes the (batch, head) pairs `[firstTask, endTask)` of `shape` into `shape.output`.
 * Task `t` is batch `⌊t / heads⌋`, head `t mod heads`.
 *
 * @example
 * ```ts
 * const shape = resolveAttentionShape('demo', q, k, v, { batch: 1, heads: 8, headDim: 40 });
 * flashAttentionJs(shape, 0, shape.batch * shape.heads);
 * ```
 */
export function flashAttentionJs(shape: AttentionShape, firstTask: number, endTask: number): void {
  const { query, key, value, output, mask, heads, headDim: d, queryLength, keyLength, scale } = shape;
  const stride = heads * d;
  // This head's K and V, packed contiguously so the inner loops walk memory in order.
  const keys = new Float64Array(keyLength * d);
  const values = new Float64Array(keyLength * d);
  const row = new Float64Array(d);
  const accumulator = new Float64Array(d);
  const scores = new Float64Array(KEY_BLOCK);
  for (let task = firstTask; task < endTask; task++) {
    const b = Math.floor(task / heads);
    const h = task % heads;
    const keyBase = b * keyLength * stride + h * d;
    for (let j = 0; j < keyLength; j++) {
      for (let c = 0; c < d; c++) {
        keys[j * d + c] = key[keyBase + j * stride + c]!;
        values[j * d + c] = value[keyBase + j * stride + c]!;
      }
    }
    const maskOffset = b * keyLength;
    for (let i = 0; i < queryLength; i++) {
      const rowOffset = (b * queryLength + i) * stride + h * d;
      for (let c = 0; c < d; c++) row[c] = query[rowOffset + c]! * scale;
      accumulator.fill(0);
      let runningMax = -Infinity;
      let runningSum = 0;
      for (let start = 0; start < keyLength; start += KEY_BLOCK) {
        const count = Math.min(KEY_BLOCK, keyLength - start);
        let blockMax = runningMax;
        for (let j = 0; j < count; j++) {
          let score = -Infinity;
          if (mask === null || mask[maskOffset + start + j] !== 0) {
            score = 0;
            const base = (start + j) * d;
            for (let c = 0; c < d; c++) score += row[c]! * keys[base + c]!;
          }
          scores[j] = score;
          if (score > blockMax) blockMax = score;
        }
        // Subtract 0 rather than −∞ while every key so far is masked (e^{−∞} = 0, not NaN).
        const reference = blockMax === -Infinity ? 0 : blockMax;
        const alpha = Math.exp(runningMax - reference);
        if (alpha !== 1) for (let c = 0; c < d; c++) accumulator[c] *= alpha;
        runningSum *= alpha;
        for (let j = 0; j < count; j++) {
          const probability = Math.exp(scores[j]! - reference);
          if (probability === 0) continue;
          runningSum += probability;
          const base = (start + j) * d;
          for (let c = 0; c < d; c++) accumulator[c] += probability * values[base + c]!;
        }
        runningMax = blockMax;
      }
      const inverse = runningSum > 0 ? 1 / runningSum : 0;
      for (let c = 0; c < d; c++) output[rowOffset + c] = accumulator[c]! * inverse;
    }
  }
}
