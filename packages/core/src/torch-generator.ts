/**
 * A seeded generator that reproduces PyTorch's CPU `torch.randn` value for value, so a seed gives
 * the same starting latents as diffusers on the CPU.
 *
 * PyTorch's CPU generator (`CPUGeneratorImpl`) is a 32-bit Mersenne Twister, MT19937
 * (Matsumoto & Nishimura 1998), seeded with the low 32 bits of the seed. `randn` takes one of two
 * paths (ATen `normal_kernel`):
 * - numel ≥ 16 (contiguous): fill the whole tensor with uniforms, then turn each block of 16 into
 *   normals with Box–Muller, pairing element j with j + 8; when numel is not a multiple of 16,
 *   the last 16 elements are drawn again and recomputed. float32 uniforms take one 32-bit word and
 *   keep 24 bits; float64 uniforms take two words and keep 53 bits.
 * - numel < 16: one `normal_distribution<double>` per element: two 53-bit uniforms, Box–Muller,
 *   the cosine branch returned and the sine branch cached on the generator for the next scalar
 *   normal (the cache survives across calls, and `manualSeed` clears it).
 */
import { InvalidArgumentError } from './errors';
import type { Generator } from './generator';
import { formatDims, numel } from './tensor';

const STATE_SIZE = 624;
const SHIFT_SIZE = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;
/** 2⁻²⁴ and 2⁻⁵³: the scales of torch's float and double uniforms. */
const FLOAT_UNIT = 1 / 16777216;
const DOUBLE_UNIT = 1 / 9007199254740992;
const TWO_POW_32 = 4294967296;
const TWO_PI = 2 * Math.PI;
const f32 = Math.fround;

/** The element type of a draw. */
export type RandnDtype = 'float32' | 'float64';

/**
 * PyTorch-compatible CPU random generator: `new TorchGenerator(seed).randn(dims)` equals
 * `torch.randn(dims, generator=torch.Generator('cpu').manual_seed(seed))`, including the state
 * carried between successive draws on one generator.
 *
 * @example
 * ```ts
 * import { TorchGenerator } from '@latentkit/core';
 * const generator = new TorchGenerator(0);
 * const latents = generator.randn([1, 4, 64, 64]); // Float32Array, as torch.randn after manual_seed(0)
 * const precise = generator.randn([16], 'float64'); // Float64Array, as dtype=torch.float64
 * ```
 */
export class TorchGenerator implements Generator {
  readonly specificationVersion = 'v1' as const;
  private readonly state = new Uint32Array(STATE_SIZE);
  private index = STATE_SIZE;
  private seed = 0n;
  /** The sine branch of the last scalar Box–Muller pair, returned by the next scalar normal. */
  private cachedNormal: number | undefined;

  constructor(seed: number | bigint = 67280421310721n) {
    this.manualSeed(seed);
  }

  /**
   * Restarts the stream, as `torch.Generator.manual_seed`: any integer in [−2⁶³, 2⁶⁴) is accepted,
   * negative seeds wrap modulo 2⁶⁴, and the Mersenne Twister uses the low 32 bits.
   */
  manualSeed(seed: number | bigint): this {
    if (typeof seed === 'number' && !Number.isSafeInteger(seed)) {
      throw new InvalidArgumentError({
        name: 'seed',
        expected: 'a safe integer or a bigint',
        actual: seed,
        hint: 'pass large seeds as a bigint (e.g. 2n ** 63n - 1n) so no digit is lost',
      });
    }
    const big = BigInt(seed);
    if (big < -(2n ** 63n) || big >= 2n ** 64n) {
      throw new InvalidArgumentError({ name: 'seed', expected: 'an integer in [-2^63, 2^64)', actual: big });
    }
    this.seed = BigInt.asUintN(64, big);
    // MT19937 initialisation by Knuth's linear recurrence (init_genrand of the reference code).
    const state = this.state;
    state[0] = Number(this.seed & 0xffffffffn);
    for (let i = 1; i < STATE_SIZE; i++) {
      const previous = state[i - 1]! ^ (state[i - 1]! >>> 30);
      state[i] = Math.imul(1812433253, previous) + i;
    }
    this.index = STATE_SIZE;
    this.cachedNormal = undefined;
    return this;
  }

  initialSeed(): bigint {
    return this.seed;
  }

  /** The next 32-bit word of the MT19937 stream. */
  nextUint32(): number {
    if (this.index >= STATE_SIZE) this.twist();
    let y = this.state[this.index++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /**
   * Draws `numel(dims)` standard normal samples in row-major order, as `torch.randn` on the CPU.
   * `dtype` picks the precision of both the result and the algorithm, as torch's `dtype=` does.
   */
  randn(dims: readonly number[]): Float32Array;
  randn(dims: readonly number[], dtype: 'float32'): Float32Array;
  randn(dims: readonly number[], dtype: 'float64'): Float64Array;
  randn(dims: readonly number[], dtype: RandnDtype = 'float32'): Float32Array | Float64Array {
    if (!Array.isArray(dims) || dims.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new InvalidArgumentError({ name: 'dims', expected: 'an array of non-negative integers', actual: dims });
    }
    if (dtype !== 'float32' && dtype !== 'float64') {
      throw new InvalidArgumentError({ name: 'dtype', expected: "'float32' or 'float64'", actual: dtype });
    }
    const size = numel(dims);
    if (!Number.isSafeInteger(size) || size > 2 ** 31) {
      throw new InvalidArgumentError({ name: 'dims', expected: 'a shape of at most 2^31 elements', actual: formatDims(dims) });
    }
    const out = dtype === 'float32' ? new Float32Array(size) : new Float64Array(size);
    if (size >= 16) this.fillBlocks(out, dtype === 'float32');
    else for (let i = 0; i < size; i++) out[i] = this.scalarNormal();
    return out;
  }

  private twist(): void {
    // The MT19937 recurrence, split so that no index needs a modulo.
    const state = this.state;
    let i = 0;
    for (; i < STATE_SIZE - SHIFT_SIZE; i++) {
      const y = (state[i]! & UPPER_MASK) | (state[i + 1]! & LOWER_MASK);
      state[i] = state[i + SHIFT_SIZE]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    for (; i < STATE_SIZE - 1; i++) {
      const y = (state[i]! & UPPER_MASK) | (state[i + 1]! & LOWER_MASK);
      state[i] = state[i + SHIFT_SIZE - STATE_SIZE]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    const y = (state[STATE_SIZE - 1]! & UPPER_MASK) | (state[0]! & LOWER_MASK);
    state[STATE_SIZE - 1] = state[SHIFT_SIZE - 1]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    this.index = 0;
  }

  /** torch's `uniform_real_distribution<float>`: the low 24 bits of one word, times 2⁻²⁴. */
  private uniformFloat(): number {
    return (this.nextUint32() & 0xffffff) * FLOAT_UNIT;
  }

  /** torch's `uniform_real_distribution<double>`: a 64-bit value (first word high), low 53 bits, times 2⁻⁵³. */
  private uniformDouble(): number {
    const high = this.nextUint32();
    const low = this.nextUint32();
    // (high·2³² + low) mod 2⁵³ = (high mod 2²¹)·2³² + low, exact in a double.
    return ((high & 0x1fffff) * TWO_POW_32 + low) * DOUBLE_UNIT;
  }

  /** `at::normal_distribution<double>`: Box–Muller on two 53-bit uniforms, caching the sine branch. */
  private scalarNormal(): number {
    if (this.cachedNormal !== undefined) {
      const cached = this.cachedNormal;
      this.cachedNormal = undefined;
      return cached;
    }
    const u1 = this.uniformDouble();
    const u2 = this.uniformDouble();
    const radius = Math.sqrt(-2 * Math.log(1 - u2));
    const theta = TWO_PI * u1;
    this.cachedNormal = radius * Math.sin(theta);
    return radius * Math.cos(theta);
  }

  /** ATen `normal_fill`: uniforms for every element, then Box–Muller over blocks of 16. */
  private fillBlocks(out: Float32Array | Float64Array, single: boolean): void {
    const size = out.length;
    for (let i = 0; i < size; i++) out[i] = single ? this.uniformFloat() : this.uniformDouble();
    for (let start = 0; start + 16 <= size; start += 16) boxMuller16(out, start, single);
    if (size % 16 !== 0) {
      // torch redraws the last 16 elements (overlapping the last full block) and transforms them.
      const start = size - 16;
      for (let i = start; i < size; i++) out[i] = single ? this.uniformFloat() : this.uniformDouble();
      boxMuller16(out, start, single);
    }
  }
}

/**
 * `normal_fill_16`: pairs element j with j + 8 of a block; u1 = 1 − data[j] lies in (0, 1] so the
 * logarithm is finite. float32 blocks follow torch's AVX2 kernel (`normal_fill_16_AVX2`), which
 * evaluates log, sin and cos with the Cephes polynomials of avx_mathfun.h in float32 with fused
 * multiply-adds; float64 blocks use the libm functions.
 */
function boxMuller16(data: Float32Array | Float64Array, start: number, single: boolean): void {
  for (let j = start; j < start + 8; j++) {
    if (single) {
      const radius = f32(Math.sqrt(f32(-2 * logFloat32(f32(1 - data[j]!)))));
      sinCosFloat32(f32(TWO_PI_FLOAT32 * data[j + 8]!));
      data[j] = radius * sinCosResult[1]!;
      data[j + 8] = radius * sinCosResult[0]!;
    } else {
      const radius = Math.sqrt(-2 * Math.log(1 - data[j]!));
      const theta = TWO_PI * data[j + 8]!;
      data[j] = radius * Math.cos(theta);
      data[j + 8] = radius * Math.sin(theta);
    }
  }
}

const TWO_PI_FLOAT32 = f32(TWO_PI);

/**
 * float32 fused multiply-add, a·b + c rounded once. a·b of two float32 values is exact in a
 * double, so f32(a·b + c) is right unless the double sum sits exactly halfway between two
 * float32 values (double rounding); only then the TwoSum error term settles the tie.
 */
function fma32(a: number, b: number, c: number): number {
  const product = a * b;
  const sum = product + c;
  const rounded = f32(sum);
  const half = sum - rounded;
  if (half === 0) return rounded;
  const other = rounded + 2 * half;
  if (f32(other) !== other) return rounded; // not a tie: the nearest float32 is right
  const virtualC = sum - product;
  const error = product - (sum - virtualC) + (c - virtualC);
  if (error === 0) return rounded;
  return error > 0 === other > rounded ? other : rounded;
}

const LOG_POLYNOMIAL = [
  7.0376836292e-2, -1.151461031e-1, 1.167699874e-1, -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1,
  -2.4999993993e-1, 3.3333331174e-1,
].map(f32);
const SQRT_HALF = f32(Math.SQRT1_2);
const LOG_Q1 = f32(-2.1219444e-4);
const LOG_Q2 = f32(0.693359375);
const floatView = new Float32Array(1);
const bitsView = new Int32Array(floatView.buffer);

/** avx_mathfun's `log256_ps` for one positive float32: log(x) = e·ln2 + log(m), m in [√½, √2). */
function logFloat32(value: number): number {
  floatView[0] = value;
  const bits = bitsView[0]!;
  let exponent = (bits >>> 23) - 126;
  bitsView[0] = (bits & ~0x7f800000) | 0x3f000000; // mantissa scaled into [0.5, 1)
  let x = floatView[0]!;
  if (x < SQRT_HALF) {
    exponent -= 1;
    x = f32(f32(x - 1) + x);
  } else {
    x = f32(x - 1);
  }
  const z = f32(x * x);
  let y = LOG_POLYNOMIAL[0]!;
  for (let i = 1; i < LOG_POLYNOMIAL.length; i++) y = fma32(y, x, LOG_POLYNOMIAL[i]!);
  y = f32(y * x);
  y = fma32(y, z, f32(exponent * LOG_Q1));
  y = fma32(-z, 0.5, y);
  return fma32(exponent, LOG_Q2, f32(x + y));
}

const FOUR_OVER_PI = f32(1.27323954473516);
const MINUS_DP = [-0.78515625, -2.4187564849853515625e-4, -3.774894977445941e-8].map(f32);
const SIN_POLYNOMIAL = [-1.9515295891e-4, 8.3321608736e-3, -1.6666654611e-1].map(f32);
const COS_POLYNOMIAL = [2.443315711809948e-5, -1.388731625493765e-3, 4.166664568298827e-2].map(f32);
/** [sin, cos] of the last {@link sinCosFloat32} call (no allocation per element). */
const sinCosResult = new Float32Array(2);

/** avx_mathfun's `sincos256_ps` for one non-negative float32 (Cephes' octant reduction). */
function sinCosFloat32(value: number): void {
  let octant = Math.trunc(f32(value * FOUR_OVER_PI));
  octant = (octant + 1) & ~1;
  const y = octant;
  // Extended-precision reduction x − y·π/4 in three parts (Cody–Waite).
  let x = fma32(y, MINUS_DP[0]!, value);
  x = fma32(y, MINUS_DP[1]!, x);
  x = fma32(y, MINUS_DP[2]!, x);
  const z = f32(x * x);
  let cosine = fma32(COS_POLYNOMIAL[0]!, z, COS_POLYNOMIAL[1]!);
  cosine = fma32(cosine, z, COS_POLYNOMIAL[2]!);
  cosine = f32(fma32(f32(cosine * z), z, -0.5 * z) + 1);
  let sine = fma32(SIN_POLYNOMIAL[0]!, z, SIN_POLYNOMIAL[1]!);
  sine = fma32(sine, z, SIN_POLYNOMIAL[2]!);
  sine = fma32(f32(sine * z), x, x);
  const swap = (octant & 2) !== 0;
  const sinNegative = (octant & 4) !== 0;
  const cosNegative = (~(octant - 2) & 4) !== 0;
  sinCosResult[0] = sinNegative ? -(swap ? cosine : sine) : swap ? cosine : sine;
  sinCosResult[1] = cosNegative ? -(swap ? sine : cosine) : swap ? sine : cosine;
}
