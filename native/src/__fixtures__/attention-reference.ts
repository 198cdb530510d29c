// Test helpers: a seeded generator and a float64 attention reference that materialises each
// query's scores (fine for test sizes; the kernels under test never do).

/** Mulberry32: a small, fast, seeded PRNG. Returns values in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform values in [−amplitude, amplitude). */
export function randomArray(length: number, random: () => number, amplitude = 1): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = (random() * 2 - 1) * amplitude;
  return out;
}

export interface ReferenceShape {
  batch: number;
  heads: number;
  headDim: number;
  scale: number;
  mask?: Uint8Array | null;
  /** Only these query rows (default: all). */
  rows?: number[];
}

/** softmax(Q·Kᵀ·scale)·V in float64, row by row. Rows not computed are NaN. */
export function attentionReference(q: Float32Array, k: Float32Array, v: Float32Array, shape: ReferenceShape): Float64Array {
  const { batch, heads, headDim: d, scale } = shape;
  const stride = heads * d;
  const nq = q.length / (batch * stride);
  const nk = k.length / (batch * stride);
  const out = new Float64Array(q.length).fill(NaN);
  const scores = new Float64Array(nk);
  const rows = shape.rows ?? Array.from({ length: nq }, (_, i) => i);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      for (const i of rows) {
        let max = -Infinity;
        for (let j = 0; j < nk; j++) {
          if (shape.mask && shape.mask[b * nk + j] === 0) {
            scores[j] = -Infinity;
            continue;
          }
          let s = 0;
          for (let c = 0; c < d; c++) s += q[(b * nq + i) * stride + h * d + c]! * k[(b * nk + j) * stride + h * d + c]!;
          scores[j] = s * scale;
          if (scores[j]! > max) max = scores[j]!;
        }
        let sum = 0;
        for (let j = 0; j < nk; j++) {
          scores[j] = max === -Infinity ? 0 : Math.exp(scores[j]! - max);
          sum += scores[j]!;
        }
        for (let c = 0; c < d; c++) {
          let o = 0;
          for (let j = 0; j < nk; j++) o += scores[j]! * v[(b * nk + j) * stride + h * d + c]!;
          out[(b * nq + i) * stride + h * d + c] = sum > 0 ? o / sum : 0;
        }
      }
    }
  }
  return out;
}

/** The largest |actual − expected| over the elements where expected is not NaN. */
export function maxAbsoluteError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    if (Number.isNaN(e)) continue;
    const error = Math.abs(actual[i]! - e);
    if (!(error <= worst)) worst = error; // NaN in actual propagates as the worst error
  }
  return worst;
}

/** True when two typed arrays hold the same bytes (fast for large arrays, unlike toEqual). */
export function sameBits(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}
