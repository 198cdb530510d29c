/**
 * Benchmark inputs: uniform values in [−1, 1) from a 32-bit linear congruential generator
 * (Numerical Recipes' constants), so every run and every method sees the same numbers.
 */
export function randomInputs(length: number, seed: number): Float32Array {
  let state = seed >>> 0;
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 31 - 1;
  }
  return out;
}
