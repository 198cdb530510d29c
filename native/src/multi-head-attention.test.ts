import { resolveAttentionShape } from './attention-shape';
import { flashAttentionJs } from './flash-attention-js';
import { addonLoadResult, type SimdLevel } from './load-addon';
import { multiHeadAttention, multiHeadAttentionAsync, type MultiHeadAttentionOptions } from './multi-head-attention';
import { attentionReference, maxAbsoluteError, randomArray, seededRandom } from './__fixtures__/attention-reference';

// Tolerance: V is uniform in [−1, 1], so every output lies in [−1, 1]. The kernels accumulate in
// float32 (native) or float64 (twin) and their exp2 polynomial has a relative error below 2e-7;
// against the float64 reference we allow an absolute error of 4e-6 per element.
const TOLERANCE = 4e-6;

const { addon, reason } = addonLoadResult();
if (addon === undefined) console.warn(`multi-head-attention.test: only the TypeScript twin is tested: ${reason}`);
const ORDER: SimdLevel[] = ['scalar', 'avx2', 'avx512'];
const detected = (addon?.describeBuild().detectedSimd ?? 'scalar') as SimdLevel;
const levels = addon ? ORDER.slice(0, ORDER.indexOf(detected) + 1) : [];
afterAll(() => addon?.setSimdLevel(detected));

interface Implementation {
  name: string;
  run(q: Float32Array, k: Float32Array, v: Float32Array, options: MultiHeadAttentionOptions): Float32Array;
}

const twin: Implementation = {
  name: 'typescript twin',
  run(q, k, v, options) {
    const shape = resolveAttentionShape('twin', q, k, v, options);
    flashAttentionJs(shape, 0, shape.batch * shape.heads);
    return shape.output;
  },
};
const natives: Implementation[] = levels.map((level) => ({
  name: `native ${level}`,
  run(q, k, v, options) {
    expect(addon!.setSimdLevel(level)).toBe(level);
    return multiHeadAttention(q, k, v, options);
  },
}));
// The AVX-512 kernel's packed path (K and V in panels, L2-sized key chunks), which it chooses by
// itself only for large self-attention (Nk·d·8 ≥ 1 MB and Nq ≥ 512), forced here on every shape
// whose K and V exceed 512 KB (smaller ones run heads-innermost with the short-key tile).
if (levels.includes('avx512') && addon?.setAttentionPath) {
  natives.push({
    name: 'native avx512, packed path forced',
    run(q, k, v, options) {
      expect(addon!.setSimdLevel('avx512')).toBe('avx512');
      addon!.setAttentionPath!('packed');
      try {
        return multiHeadAttention(q, k, v, options);
      } finally {
        addon!.setAttentionPath!('auto');
      }
    },
  });
}
const implementations = [twin, ...natives];

/** An output view with sentinels on both sides (to catch stray writes), poisoned with NaN. */
function guardedOutput(length: number): { out: Float32Array; guardsIntact(): boolean } {
  const guard = 16;
  const backing = new Float32Array(length + 2 * guard).fill(-12345);
  const out = backing.subarray(guard, guard + length).fill(NaN);
  return {
    out,
    guardsIntact: () =>
      backing.subarray(0, guard).every((x) => x === -12345) && backing.subarray(guard + length).every((x) => x === -12345),
  };
}

// [batch, heads, queryLength, keyLength, headDim]: odd sizes, d not a multiple of 8, Nk = 1,
// single query, d = 256, blocks that end mid-tile. For the AVX-512 kernel's packed path (forced
// below, for the shapes with K and V above 512 KB: d 256 and the last four), which copies each head's K and V into panels and runs the keys in chunks of 512 KB of
// K and V (attention.cc), the last four add several heads, several packing chunks of 512 keys,
// a last panel and a last head-dimension tile that are partly filled, and 3 key chunks (d 64
// and d 160, the last one short and not a whole key block).
const SHAPES: [number, number, number, number, number][] = [
  [1, 1, 1, 1, 1],
  [2, 3, 67, 77, 40],
  [1, 2, 130, 200, 13],
  [1, 1, 5, 300, 256],
  [2, 8, 100, 1, 40],
  [1, 2, 64, 64, 64],
  [3, 1, 17, 129, 7],
  [1, 4, 65, 1, 80],
  [1, 1, 300, 257, 33],
  [2, 2, 1, 77, 160],
  [1, 1, 70, 70, 6],
  [1, 3, 40, 1100, 40],
  [1, 2, 40, 600, 75],
  [1, 1, 9, 2049, 64],
  [1, 2, 20, 1000, 160],
];

describe.each(implementations)('multiHeadAttention ($name) against a float64 reference', (implementation) => {
  test.each(SHAPES)('batch %i, heads %i, Nq %i, Nk %i, d %i', (batch, heads, nq, nk, d) => {
    const random = seededRandom(batch * 1000003 + heads * 10007 + nq * 101 + nk * 7 + d);
    const q = randomArray(batch * nq * heads * d, random, 2);
    const k = randomArray(batch * nk * heads * d, random, 2);
    const v = randomArray(batch * nk * heads * d, random, 1);
    const { out, guardsIntact } = guardedOutput(q.length);
    const result = implementation.run(q, k, v, { batch, heads, headDim: d, out });
    expect(result).toBe(out);
    const expected = attentionReference(q, k, v, { batch, heads, headDim: d, scale: 1 / Math.sqrt(d) });
    expect(maxAbsoluteError(out, expected)).toBeLessThanOrEqual(TOLERANCE);
    expect(guardsIntact()).toBe(true);
  });

  test('an explicit scale and large logits (softmax close to one-hot) stay accurate', () => {
    // Logits reach a few hundred here; a float32 score of 300 is only known to 300·2⁻²⁴ ≈ 2e-5,
    // which the softmax turns into a relative error of the same size: tolerance 3e-5.
    const random = seededRandom(7);
    const [batch, heads, nq, nk, d] = [1, 2, 33, 150, 24];
    const q = randomArray(batch * nq * heads * d, random, 6);
    const k = randomArray(batch * nk * heads * d, random, 6);
    const v = randomArray(batch * nk * heads * d, random, 1);
    const out = implementation.run(q, k, v, { batch, heads, headDim: d, scale: 0.9 });
    const expected = attentionReference(q, k, v, { batch, heads, headDim: d, scale: 0.9 });
    expect(maxAbsoluteError(out, expected)).toBeLessThanOrEqual(3e-5);
  });

  test.each([
    [3, 2, 21, 140, 40],
    [3, 2, 21, 1030, 160], // packed path: 3 key chunks of 384 keys
  ])('the key padding mask ignores masked keys; a fully masked sequence gives zeros (batch %i, heads %i, Nq %i, Nk %i, d %i)', (batch, heads, nq, nk, d) => {
    const random = seededRandom(11);
    const q = randomArray(batch * nq * heads * d, random, 2);
    const k = randomArray(batch * nk * heads * d, random, 2);
    const v = randomArray(batch * nk * heads * d, random, 1);
    const mask = new Uint8Array(batch * nk);
    for (let j = 0; j < nk; j++) {
      mask[j] = random() < 0.5 ? 1 : 0; // sequence 0: random holes
      mask[nk + j] = j < 77 ? 1 : 0; // sequence 1: padding after 77 tokens, across a block edge
      mask[2 * nk + j] = 0; // sequence 2: nothing to attend to
    }
    const { out, guardsIntact } = guardedOutput(q.length);
    implementation.run(q, k, v, { batch, heads, headDim: d, mask, out });
    const expected = attentionReference(q, k, v, { batch, heads, headDim: d, scale: 1 / Math.sqrt(d), mask });
    expect(maxAbsoluteError(out, expected)).toBeLessThanOrEqual(TOLERANCE);
    expect(out.subarray(2 * nq * heads * d).every((x) => x === 0)).toBe(true);
    expect(guardsIntact()).toBe(true);
  });

  test('empty query (Nq = 0) returns an empty output', () => {
    const k = new Float32Array(2 * 8);
    expect(implementation.run(new Float32Array(0), k, k.slice(), { batch: 1, heads: 2, headDim: 4 })).toHaveLength(0);
  });
});

(natives.length > 0 ? describe.each(natives) : describe.skip.each([twin]))('$name at SD 1.5 scale', (implementation) => {
  test('self-attention N = 4096, d = 40 (32 key blocks), sampled rows against the reference', () => {
    const random = seededRandom(4096);
    const [batch, heads, n, d] = [1, 1, 4096, 40];
    const q = randomArray(batch * n * heads * d, random, 2);
    const k = randomArray(batch * n * heads * d, random, 2);
    const v = randomArray(batch * n * heads * d, random, 1);
    const out = implementation.run(q, k, v, { batch, heads, headDim: d });
    const rows = Array.from({ length: 24 }, (_, i) => Math.floor((i * n) / 24) + (i % 7));
    const expected = attentionReference(q, k, v, { batch, heads, headDim: d, scale: 1 / Math.sqrt(d), rows });
    expect(maxAbsoluteError(out, expected)).toBeLessThanOrEqual(TOLERANCE);
  });
});

describe('multiHeadAttentionAsync', () => {
  afterAll(() => addon?.setSimdLevel(detected));

  test('gives the same bits as the synchronous call', async () => {
    const random = seededRandom(99);
    const q = randomArray(2 * 150 * 3 * 40, random, 2);
    const k = randomArray(2 * 77 * 3 * 40, random, 2);
    const v = randomArray(2 * 77 * 3 * 40, random, 1);
    const options = { batch: 2, heads: 3, headDim: 40 };
    const asynchronous = await multiHeadAttentionAsync(q, k, v, options);
    expect(asynchronous).toEqual(multiHeadAttention(q, k, v, options));
  });

  test('keeps the event loop running while it computes', async () => {
    const random = seededRandom(5);
    const [batch, heads, n, d] = [1, 4, 1024, 40];
    const q = randomArray(batch * n * heads * d, random, 1);
    let ticks = 0;
    let running = true;
    const tick = (): void => {
      ticks++;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    await multiHeadAttentionAsync(q, q.slice(), q.slice(), { batch, heads, headDim: d });
    running = false;
    expect(ticks).toBeGreaterThan(0);
  });

  test('stress: 48 concurrent calls of different shapes all resolve to correct results', async () => {
    const random = seededRandom(2024);
    const jobs = Array.from({ length: 48 }, (_, index) => {
      const batch = 1 + (index % 2);
      const heads = 1 + (index % 3);
      const d = [8, 13, 40, 64][index % 4]!;
      const nq = 1 + Math.floor(random() * 90);
      const nk = 1 + Math.floor(random() * 90);
      const q = randomArray(batch * nq * heads * d, random, 2);
      const k = randomArray(batch * nk * heads * d, random, 2);
      const v = randomArray(batch * nk * heads * d, random, 1);
      const options = { batch, heads, headDim: d };
      return { q, k, v, options, promise: multiHeadAttentionAsync(q, k, v, options) };
    });
    const results = await Promise.all(jobs.map((job) => job.promise));
    results.forEach((out, index) => {
      const { q, k, v, options } = jobs[index]!;
      const expected = attentionReference(q, k, v, { ...options, scale: 1 / Math.sqrt(options.headDim) });
      expect(maxAbsoluteError(out, expected)).toBeLessThanOrEqual(TOLERANCE);
    });
  });

  test('synchronous calls made while asynchronous ones run share the thread pool correctly', async () => {
    const random = seededRandom(77);
    const make = (n: number) => {
      const q = randomArray(n * 2 * 40, random, 2);
      const k = randomArray(n * 2 * 40, random, 2);
      const v = randomArray(n * 2 * 40, random, 1);
      return { q, k, v, expected: attentionReference(q, k, v, { batch: 1, heads: 2, headDim: 40, scale: 1 / Math.sqrt(40) }) };
    };
    const options = { batch: 1, heads: 2, headDim: 40 };
    const pending = Array.from({ length: 8 }, () => make(200)).map((job) => ({ job, promise: multiHeadAttentionAsync(job.q, job.k, job.v, options) }));
    for (let i = 0; i < 4; i++) {
      const job = make(150);
      expect(maxAbsoluteError(multiHeadAttention(job.q, job.k, job.v, options), job.expected)).toBeLessThanOrEqual(TOLERANCE);
    }
    for (const { job, promise } of pending) expect(maxAbsoluteError(await promise, job.expected)).toBeLessThanOrEqual(TOLERANCE);
  });

  test('takes the inputs as they are at call time and resolves with options.out, or a new array without it', async () => {
    const random = seededRandom(31);
    const options = { batch: 1, heads: 2, headDim: 16 };
    const q = randomArray(64 * 32, random, 2), k = randomArray(20 * 32, random, 2), v = randomArray(20 * 32, random, 1);
    const expected = multiHeadAttention(q, k, v, options);
    const out = new Float32Array(q.length);
    const given = multiHeadAttentionAsync(q, k, v, { ...options, out });
    const fresh = multiHeadAttentionAsync(q, k, v, options);
    q.fill(0);
    structuredClone(k.buffer, { transfer: [k.buffer as ArrayBuffer] }); // detached: the call works on its own copy
    expect(await given).toBe(out);
    expect(out).toEqual(expected);
    expect(await fresh).toEqual(expected);
  });

  test('rejects with a TypeError when out is transferred before it resolves', async () => {
    const q = randomArray(64 * 32, seededRandom(8), 1);
    const out = new Float32Array(q.length);
    const promise = multiHeadAttentionAsync(q, q, q, { batch: 1, heads: 2, headDim: 16, out });
    structuredClone(out.buffer, { transfer: [out.buffer as ArrayBuffer] });
    const outcome = await promise.then(() => 'resolved', (error: Error) => `${error.constructor.name}: ${error.message}`);
    expect(outcome).toMatch(/^TypeError: multiHeadAttentionAsync: the output array \(options\.out\)'s ArrayBuffer was detached \(transferred\)/);
  });

  test('rejects bad arguments with the same errors as the synchronous call', async () => {
    const q = new Float32Array(10);
    await expect(multiHeadAttentionAsync(q, q, q, { batch: 1, heads: 1, headDim: 3 })).rejects.toThrow(RangeError);
  });
});
