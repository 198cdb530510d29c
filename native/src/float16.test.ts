import { float16BitsToFloat32, float16ToFloat32, float32ToFloat16, float32ToFloat16Bits } from './float16';
import { addonLoadResult, type SimdLevel } from './load-addon';
import { randomArray, sameBits, seededRandom } from './__fixtures__/attention-reference';

const { addon } = addonLoadResult();
const detected = (addon?.describeBuild().detectedSimd ?? 'scalar') as SimdLevel;
afterAll(() => addon?.setSimdLevel(detected));

// Known encodings (IEEE 754 binary16), including ties that must round to even.
const KNOWN: [number, number][] = [
  [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [0.1, 0x2e66], [65504, 0x7bff], [65519.99, 0x7bff],
  [65520, 0x7c00], [Infinity, 0x7c00], [-Infinity, 0xfc00], [2 ** -14, 0x0400], [2 ** -24, 0x0001],
  [2 ** -25, 0x0000], [2 ** -25 * 1.0001, 0x0001], [3 * 2 ** -25, 0x0002], [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02],
  [1e-8, 0x0000], [1e6, 0x7c00], [0.333333, 0x3555],
];

/** Every float16 bit pattern, and float32 inputs around every float16 rounding boundary. */
function edgeCases(): Float32Array {
  const values: number[] = [NaN, -NaN];
  for (let h = 0; h < 0x10000; h++) {
    const v = float16BitsToFloat32(h);
    if (Number.isNaN(v)) continue;
    values.push(v, Math.fround(v * (1 + 2 ** -12)), Math.fround(v * (1 - 2 ** -12)), Math.fround(v * (1 + 2 ** -11)));
  }
  return Float32Array.from(values);
}

describe('float16 conversion (TypeScript twin)', () => {
  test.each(KNOWN)('%d → 0x%s', (value, bits) => {
    expect(float32ToFloat16Bits(value)).toBe(bits);
  });

  test('every finite float16 round-trips exactly through float32', () => {
    for (let h = 0; h < 0x10000; h++) {
      if (((h >> 10) & 0x1f) === 0x1f && (h & 0x3ff) !== 0) continue; // NaN: checked below
      expect(float32ToFloat16Bits(float16BitsToFloat32(h))).toBe(h);
    }
  });

  test('NaN stays NaN, quiet, sign and top payload bits kept', () => {
    const signalling = new Float32Array(new Uint32Array([0xff800001 | (0x155 << 13)]).buffer)[0]!;
    expect(float32ToFloat16Bits(signalling)).toBe(0xfe00 | 0x155);
    expect(Number.isNaN(float16BitsToFloat32(0x7c01))).toBe(true);
  });
});

const describeNative = addon ? describe : describe.skip;
describeNative.each(['scalar', 'avx2'] as SimdLevel[])('native float16 conversion (%s path) equals the twin bit for bit', (level) => {
  beforeAll(() => addon!.setSimdLevel(level));

  test('float16 → float32 over all 65536 patterns', () => {
    const all = Uint16Array.from({ length: 0x10000 }, (_, h) => h);
    const native = addon!.float16ToFloat32(all, new Float32Array(all.length).fill(7));
    const twin = Float32Array.from(all, float16BitsToFloat32);
    expect(sameBits(native, twin)).toBe(true);
  });

  test('float32 → float16 around every rounding boundary, specials and random values', () => {
    const random = seededRandom(16);
    const inputs = new Float32Array([...edgeCases(), ...randomArray(10_001, random, 70_000), ...randomArray(999, random, 1e-4)]);
    const native = addon!.float32ToFloat16(inputs, new Uint16Array(inputs.length).fill(0xabcd));
    const twin = Uint16Array.from(inputs, float32ToFloat16Bits);
    expect(sameBits(native, twin)).toBe(true);
  });

  test('public entry points, odd lengths', () => {
    const values = new Float32Array([1, 0.1, 65504, -3.5, 1e-6, 7]);
    expect(Array.from(float32ToFloat16(values))).toEqual(Array.from(values, float32ToFloat16Bits));
    expect(Array.from(float16ToFloat32(float32ToFloat16(values)))).toEqual(Array.from(values, (v) => float16BitsToFloat32(float32ToFloat16Bits(v))));
  });
});
