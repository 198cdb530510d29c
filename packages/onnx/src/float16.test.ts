import { float16ToFloat32, float32ToFloat16 } from './float16';

describe('float16 conversion', () => {
  it('converts exactly representable values both ways', () => {
    const values = Float32Array.of(0, -0, 1, -2, 0.5, 65504, -65504, 2 ** -14, 2 ** -24, 1 + 2 ** -10);
    const bits = float32ToFloat16(values);
    expect([...bits.slice(0, 6)]).toEqual([0x0000, 0x8000, 0x3c00, 0xc000, 0x3800, 0x7bff]);
    expect([...float16ToFloat32(bits)]).toEqual([...values]);
  });

  it('rounds to nearest even, overflows to infinity and keeps NaN', () => {
    // 1 + 2^-11 lies halfway between 1 and 1 + 2^-10: ties go to the even mantissa (1).
    expect(float32ToFloat16(Float32Array.of(1 + 2 ** -11))[0]).toBe(0x3c00);
    expect(float32ToFloat16(Float32Array.of(1 + 3 * 2 ** -11))[0]).toBe(0x3c02);
    expect(float16ToFloat32(float32ToFloat16(Float32Array.of(1e6, -1e6, NaN)))).toEqual(Float32Array.of(Infinity, -Infinity, NaN));
    expect(float32ToFloat16(Float32Array.of(1e-9))[0]).toBe(0);
  });

  // Tolerance: relative 2^-11 for normal values (half an ulp of an 11-bit significand).
  it('round-trips random values to half an ulp', () => {
    const values = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i * 12.9898) * 100);
    const back = float16ToFloat32(float32ToFloat16(values));
    values.forEach((value, i) => expect(Math.abs(back[i]! - value)).toBeLessThanOrEqual(Math.abs(value) * 2 ** -11 + 2 ** -25));
  });
});
