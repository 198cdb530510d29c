import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError } from './errors';
import { TorchGenerator } from './torch-generator';

interface FixtureCase {
  seed: string;
  dtype: 'float32' | 'float64';
  draws: number[][];
  values: number[][];
}

// Made by scripts/make-torch-randn-fixture.py with torch 1.13 (CPU).
const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, '__fixtures__', 'torch-randn.json'), 'utf8')) as {
  cases: FixtureCase[];
};

/** Largest distance in float32 units in the last place (0 = bit-identical). */
function maxUlpDistance(actual: ArrayLike<number>, expected: readonly number[], dtype: 'float32' | 'float64'): number {
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = dtype === 'float32' ? Math.fround(expected[i]!) : expected[i]!;
    if (a === e) continue;
    const ulp = dtype === 'float32' ? 2 ** (Math.floor(Math.log2(Math.abs(e))) - 23) : 2 ** (Math.floor(Math.log2(Math.abs(e))) - 52);
    worst = Math.max(worst, Math.abs(a - e) / ulp);
  }
  return worst;
}

describe('TorchGenerator reproduces torch.randn on the CPU', () => {
  for (const testCase of fixture.cases) {
    it(`seed ${testCase.seed}, ${testCase.dtype}, successive draws ${JSON.stringify(testCase.draws)}`, () => {
      const generator = new TorchGenerator(BigInt(testCase.seed));
      testCase.draws.forEach((dims, i) => {
        const values = testCase.dtype === 'float64' ? generator.randn(dims, 'float64') : generator.randn(dims);
        expect(values).toBeInstanceOf(testCase.dtype === 'float64' ? Float64Array : Float32Array);
        expect(values.length).toBe(testCase.values[i]!.length);
        // float32 draws must be bit-identical; float64 ones may differ by the last bits of libm's
        // log/sin/cos (V8's fdlibm versus glibc): at most 4 units in the last place.
        expect(maxUlpDistance(values, testCase.values[i]!, testCase.dtype)).toBeLessThanOrEqual(testCase.dtype === 'float32' ? 0 : 4);
      });
    });
  }

  it('matches the reference initial_noise of ../shared/reference (randn([1,4,8,8]) after manual_seed(0))', () => {
    const file = path.resolve(process.env.LATENTKIT_SHARED ?? path.resolve(__dirname, '../../../../shared'), 'reference/schedulers/ddim_10.json');
    if (!fs.existsSync(file)) {
      console.warn(`skipped: ${file} is absent (set LATENTKIT_SHARED to the shared folder)`);
      return;
    }
    const reference = JSON.parse(fs.readFileSync(file, 'utf8')) as { initial_noise: number[] };
    expect(Array.from(new TorchGenerator(0).randn([1, 4, 8, 8]))).toEqual(reference.initial_noise.map(Math.fround));
  });

  it('manualSeed restarts the stream and clears the cached scalar normal', () => {
    const generator = new TorchGenerator(3);
    const first = generator.randn([1]);
    generator.randn([1]); // consumes the cached sine branch
    generator.manualSeed(3);
    generator.randn([1]); // leaves a cached value behind …
    generator.manualSeed(3); // … which reseeding must drop
    expect(generator.randn([1])).toEqual(first);
    expect(generator.initialSeed()).toBe(3n);
  });

  it('wraps negative seeds modulo 2^64 as torch does', () => {
    expect(new TorchGenerator(-1).initialSeed()).toBe(2n ** 64n - 1n);
    expect(new TorchGenerator(-1).randn([20])).toEqual(new TorchGenerator(2n ** 64n - 1n).randn([20]));
  });

  it('rejects bad seeds, shapes and dtypes with clear errors', () => {
    expect(() => new TorchGenerator(0.5)).toThrow(InvalidArgumentError);
    expect(() => new TorchGenerator(2n ** 64n)).toThrow(/\[-2\^63, 2\^64\)/);
    expect(() => new TorchGenerator(0).randn([2, -1])).toThrow(/non-negative integers/);
    expect(() => new TorchGenerator(0).randn([2], 'float16' as never)).toThrow(/'float32' or 'float64'/);
    expect(new TorchGenerator(0).randn([0, 4])).toHaveLength(0);
  });
});
