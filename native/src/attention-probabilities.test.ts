import { attentionProbabilities } from './attention-probabilities';
import { attentionProbabilitiesJs } from './attention-probabilities-js';
import { resolveAttentionShape } from './attention-shape';
import { addonLoadResult } from './load-addon';
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

// The addon's kernel against the TypeScript twin: the same float64 loops in the same order, so
// the float32 results agree to the last bit of exp (|Δ| ≤ 1e-7 allowed, values in [0, 1]).
const { addon } = addonLoadResult();
(addon?.attentionProbabilities ? describe : describe.skip)('attentionProbabilities: the addon against the TypeScript twin', () => {
  test.each([
    [2, 8, 40, 300, 77, false],
    [3, 3, 13, 17, 5, true],
    [1, 2, 256, 9, 1024, true],
  ])('batch %i, heads %i, d %i, Nq %i, Nk %i, mask %s', (batch, heads, headDim, queryLength, keyLength, masked) => {
    const random = seededRandom(batch * 31 + heads * 7 + headDim + keyLength);
    const q = randomArray(batch * queryLength * heads * headDim, random, 2);
    const k = randomArray(batch * keyLength * heads * headDim, random, 2);
    let mask: Uint8Array | undefined;
    if (masked) {
      mask = Uint8Array.from({ length: batch * keyLength }, () => (random() < 0.6 ? 1 : 0));
      mask.fill(0, 0, keyLength); // sequence 0 attends to nothing: zeros
    }
    const options = { batch, heads, headDim, mask };
    const native = attentionProbabilities(q, k, options);
    const shape = resolveAttentionShape('twin', q, k, k, options);
    const twin = attentionProbabilitiesJs(shape, new Float32Array(native.length));
    let worst = 0;
    for (let i = 0; i < twin.length; i++) worst = Math.max(worst, Math.abs(native[i]! - twin[i]!));
    expect(worst).toBeLessThanOrEqual(1e-7);
    if (masked) expect(native.subarray(0, queryLength * keyLength).every((x) => x === 0)).toBe(true);
  });
});
