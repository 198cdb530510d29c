import { attentionProbabilities } from './attention-probabilities';
import { multiHeadAttention } from './multi-head-attention';
import { randomArray, seededRandom } from './__fixtures__/attention-reference';

// Tolerance: float64 accumulation; rows of probabilities sum to 1 within 1e-6 (float32 storage).
describe('attentionProbabilities', () => {
  const batch = 2, heads = 3, headDim = 8, queryLength = 5, keyLength = 7;
  const random = seededRandom(7);
  const q = randomArray(batch * queryLength * heads * headDim, random);
  const k = randomArray(batch * keyLength * heads * headDim, random);

  it('returns head-averaged rows that sum to 1', () => {
    const p = attentionProbabilities(q, k, { batch, heads, headDim });
    expect(p.length).toBe(batch * queryLength * keyLength);
    for (let row = 0; row < batch * queryLength; row++) {
      let total = 0;
      for (let j = 0; j < keyLength; j++) total += p[row * keyLength + j]!;
      expect(Math.abs(total - 1)).toBeLessThan(1e-6);
    }
  });

  it('agrees with the fused kernel: with one head, P·V equals attention output', () => {
    const v = randomArray(keyLength * headDim, random);
    const q1 = randomArray(queryLength * headDim, random);
    const k1 = randomArray(keyLength * headDim, random);
    const p = attentionProbabilities(q1, k1, { batch: 1, heads: 1, headDim });
    const out = multiHeadAttention(q1, k1, v, { batch: 1, heads: 1, headDim });
    for (let i = 0; i < queryLength; i++) {
      for (let c = 0; c < headDim; c++) {
        let expected = 0;
        for (let j = 0; j < keyLength; j++) expected += p[i * keyLength + j]! * v[j * headDim + c]!;
        expect(Math.abs(out[i * headDim + c]! - expected)).toBeLessThan(4e-6);
      }
    }
  });

  it('refuses a key length beyond its limit, naming it', () => {
    const big = new Float32Array(2000 * headDim);
    expect(() => attentionProbabilities(new Float32Array(headDim), big, { batch: 1, heads: 1, headDim })).toThrow(/key length 2000/);
  });
});
