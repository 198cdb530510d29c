import { cudaInfo, cudaMultiHeadAttention } from './cuda';
import { float16ToFloat32, float32ToFloat16 } from './float16';
import { attentionReference, maxAbsoluteError, randomArray, seededRandom } from './__fixtures__/attention-reference';

// The GPU half of the suite: `pnpm --filter @latentkit/native test:gpu` on a machine with an
// NVIDIA device (LATENTKIT_REQUIRE_GPU=1 turns a missing device into a failure). Elsewhere the
// device tests skip with the reason cudaInfo() gives, and only the no-device behaviour is checked.
const info = cudaInfo();
const requireGpu = process.env.LATENTKIT_REQUIRE_GPU === '1';
const hasDevice = info.deviceCount > 0;
if (!hasDevice) console.warn(`cuda-attention.test: GPU tests skipped: ${info.error ?? 'no CUDA device'}`);

describe('cudaInfo', () => {
  test('reports whether CUDA is compiled in and how many devices there are', () => {
    expect(typeof info.compiled).toBe('boolean');
    expect(info.devices).toHaveLength(info.deviceCount);
    if (!hasDevice) expect(info.error).toEqual(expect.any(String));
  });

  (requireGpu ? test : test.skip)('a device is present (LATENTKIT_REQUIRE_GPU=1)', () => {
    expect(info.compiled).toBe(true);
    expect(info.deviceCount).toBeGreaterThan(0);
  });

  (hasDevice ? test.skip : test)('without a device, calling CUDA throws a clear Error instead of crashing', () => {
    const x = new Float32Array(2 * 8);
    let caught: Error | undefined;
    try {
      cudaMultiHeadAttention(x, x.slice(), x.slice(), { batch: 1, heads: 2, headDim: 4 });
    } catch (error) {
      caught = error as Error;
    }
    expect(caught?.message).toMatch(/^cudaMultiHeadAttention: /);
    expect(caught?.message).toMatch(/CUDA|device|addon/);
  });
});

(hasDevice ? describe : describe.skip)('cudaMultiHeadAttention on the device', () => {
  const SHAPES: [number, number, number, number, number][] = [
    [1, 1, 1, 1, 1], [2, 3, 67, 77, 40], [1, 2, 130, 200, 13], [1, 1, 5, 300, 256], [2, 8, 100, 1, 40], [1, 4, 65, 129, 80], [1, 2, 1000, 77, 160],
  ];

  test.each(SHAPES)('float32: batch %i, heads %i, Nq %i, Nk %i, d %i (tolerance 4e-6)', (batch, heads, nq, nk, d) => {
    const random = seededRandom(nq * 31 + nk + d);
    const q = randomArray(batch * nq * heads * d, random, 2);
    const k = randomArray(batch * nk * heads * d, random, 2);
    const v = randomArray(batch * nk * heads * d, random, 1);
    const out = new Float32Array(q.length).fill(NaN);
    cudaMultiHeadAttention(q, k, v, { batch, heads, headDim: d, out });
    const expected = attentionReference(q, k, v, { batch, heads, headDim: d, scale: 1 / Math.sqrt(d) });
    expect(maxAbsoluteError(out, expected)).toBeLessThanOrEqual(4e-6);
  });

  test.each(SHAPES)('float16: batch %i, heads %i, Nq %i, Nk %i, d %i (tolerance 2e-3)', (batch, heads, nq, nk, d) => {
    // Inputs and output are rounded to float16 (11-bit significand): outputs in [−1, 1] carry
    // up to 2⁻¹¹ ≈ 4.9e-4 from the output rounding plus the propagated input rounding.
    const random = seededRandom(nq * 17 + nk + d);
    const toHalf = (x: Float32Array) => float32ToFloat16(x);
    const q = toHalf(randomArray(batch * nq * heads * d, random, 2));
    const k = toHalf(randomArray(batch * nk * heads * d, random, 2));
    const v = toHalf(randomArray(batch * nk * heads * d, random, 1));
    const out = cudaMultiHeadAttention(q, k, v, { batch, heads, headDim: d });
    expect(out).toBeInstanceOf(Uint16Array);
    const expected = attentionReference(float16ToFloat32(q), float16ToFloat32(k), float16ToFloat32(v), { batch, heads, headDim: d, scale: 1 / Math.sqrt(d) });
    expect(maxAbsoluteError(float16ToFloat32(out), expected)).toBeLessThanOrEqual(2e-3);
  });

  test('key padding mask', () => {
    const random = seededRandom(1);
    const [batch, heads, nq, nk, d] = [2, 2, 40, 90, 40];
    const q = randomArray(batch * nq * heads * d, random, 2);
    const k = randomArray(batch * nk * heads * d, random, 2);
    const v = randomArray(batch * nk * heads * d, random, 1);
    const mask = Uint8Array.from({ length: batch * nk }, (_, j) => (j < nk ? Number(j % 3 !== 0) : 0));
    const out = cudaMultiHeadAttention(q, k, v, { batch, heads, headDim: d, mask });
    const expected = attentionReference(q, k, v, { batch, heads, headDim: d, scale: 1 / Math.sqrt(d), mask });
    expect(maxAbsoluteError(out, expected)).toBeLessThanOrEqual(4e-6);
  });
});
