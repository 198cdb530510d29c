/**
 * The σ of the KDPM2 samplers' midpoints: the geometric mean of two σ, computed as diffusers
 * does (`σ.log().lerp(other.log(), 0.5).exp()` in float32, where log 0 = −∞ gives NaN or 0).
 */

const f32 = Math.fround;

/** torch.lerp(start, end, 0.5) in float32: end − (end − start)·0.5. */
function lerpHalf(start: number, end: number): number {
  return f32(end - f32(f32(end - start) * 0.5));
}

/** exp(lerp(log a, log b, ½)) in float32, elementwise. */
export function logMidpoints(a: Float32Array, b: Float32Array): Float32Array {
  return a.map((value, i) => f32(Math.exp(lerpHalf(f32(Math.log(value)), f32(Math.log(b[i]!))))));
}

/** `cat([x[:1], x[1:].repeat_interleave(2), x[-1:]])`: every entry after the first twice, the last thrice. */
export function interleaveRepeat(values: Float32Array): Float32Array {
  return Float32Array.from([values[0]!, ...[...values.subarray(1)].flatMap((v) => [v, v]), values[values.length - 1]!]);
}
