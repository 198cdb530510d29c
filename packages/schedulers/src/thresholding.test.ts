import { clipInPlace, dynamicThresholdInPlace, selectInPlace } from './thresholding';

describe('thresholding', () => {
  it('selectInPlace finds every order statistic (checked against a sort)', () => {
    let seed = 7;
    const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 10 - 5;
    for (const size of [1, 2, 3, 10, 257]) {
      const values = Float32Array.from({ length: size }, () => Math.round(random() * 4) / 4 + 0); // with ties (+ 0 turns −0 into 0)
      const sorted = Float32Array.from(values).sort();
      for (let k = 0; k < size; k++) expect(selectInPlace(Float32Array.from(values), k)).toBe(sorted[k]);
    }
  });

  it('dynamic thresholding uses torch.quantile (linear) of |x| per batch item, clamped to [1, max]', () => {
    // Item 0: |x| = 0…9, q = 0.95 → rank 8.55 → s = 8 + 0.55·1 = 8.55 (≤ max 10); item 1 stays within [−1, 1] (s = 1).
    const data = Float32Array.from([0, -1, 2, -3, 4, -5, 6, -7, 8, -9, 0.1, -0.2, 0.3, -0.4, 0.5, -0.6, 0.7, -0.8, 0.9, -1]);
    dynamicThresholdInPlace(data, 2, 0.95, 10);
    const s = Math.fround(8 + Math.fround(Math.fround(0.55000001) * 1));
    expect(data[9]).toBeCloseTo(-1, 6); // −9 clamped to −s, divided by s
    expect(data[8]).toBeCloseTo(8 / s, 6);
    expect(Array.from(data.subarray(10))).toEqual([0.1, -0.2, 0.3, -0.4, 0.5, -0.6, 0.7, -0.8, 0.9, -1].map(Math.fround));
  });

  it('clipInPlace clamps to ±range', () => {
    const data = Float32Array.from([-3, -0.5, 0.5, 3]);
    clipInPlace(data, 1);
    expect(Array.from(data)).toEqual([-1, -0.5, 0.5, 1]);
  });
});
