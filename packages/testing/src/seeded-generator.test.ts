import { SeededGenerator } from './seeded-generator';

describe('SeededGenerator', () => {
  it('repeats its stream for a seed, and differs between seeds', () => {
    const a = new SeededGenerator(42).randn([1, 4, 8, 8]);
    expect(new SeededGenerator(42n).randn([1, 4, 8, 8])).toEqual(a);
    expect(new SeededGenerator(43).randn([1, 4, 8, 8])).not.toEqual(a);
    const g = new SeededGenerator(1);
    const first = g.randn([5]);
    expect(g.manualSeed(1).randn([5])).toEqual(first);
    expect(g.initialSeed()).toBe(1n);
  });

  it('draws standard normals: mean and variance of 100 000 samples within 0.02 of 0 and 1', () => {
    const x = new SeededGenerator(7).randn([100_000]);
    const mean = x.reduce((s, v) => s + v, 0) / x.length;
    const variance = x.reduce((s, v) => s + (v - mean) ** 2, 0) / x.length;
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(variance - 1)).toBeLessThan(0.02);
  });

  it('rejects a seed that is not an integer', () => {
    expect(() => new SeededGenerator(1.5)).toThrow('seed must be an integer or a bigint, got 1.5');
  });
});
