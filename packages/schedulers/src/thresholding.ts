/**
 * Keeping the predicted clean sample x̂₀ in range: plain clipping, and dynamic thresholding
 * (Saharia et al. 2022, "Imagen", §2.3): per image, s = the `ratio` quantile of |x̂₀| clamped to
 * [1, max], then x̂₀ ← clamp(x̂₀, −s, s)/s. Both work in place on float32 data.
 */

/**
 * diffusers' defaults for the thresholding keys of the ᾱ samplers (DDPM, DDIM, LCM): off, and
 * when on, the 99.5th percentile of |x̂₀| clamped to [1, 1]; clipping to [−1, 1].
 *
 * @example
 * ```ts
 * const MY_DEFAULTS = { ...THRESHOLDING_DEFAULTS, clip_sample: true };
 * ```
 */
export const THRESHOLDING_DEFAULTS = Object.freeze({
  thresholding: false,
  dynamic_thresholding_ratio: 0.995,
  clip_sample_range: 1.0,
  sample_max_value: 1.0,
});

const f32 = Math.fround;

/** Clamps every value to [−range, range]. */
export function clipInPlace(data: Float32Array, range: number): void {
  const limit = f32(range);
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v > limit) data[i] = limit;
    else if (v < -limit) data[i] = -limit;
  }
}

/**
 * The k-th smallest value of `values` (0-based), partially reordering it in place
 * (Hoare's quickselect with a median-of-three pivot: O(n), where sorting would be O(n log n)).
 */
export function selectInPlace(values: Float32Array, k: number): number {
  let low = 0;
  let high = values.length - 1;
  while (high > low) {
    const middle = (low + high) >>> 1;
    const a = values[low]!, b = values[middle]!, c = values[high]!;
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    let i = low;
    let j = high;
    while (i <= j) {
      while (values[i]! < pivot) i++;
      while (values[j]! > pivot) j--;
      if (i <= j) {
        const swap = values[i]!;
        values[i] = values[j]!;
        values[j] = swap;
        i++;
        j--;
      }
    }
    if (k <= j) high = j;
    else if (k >= i) low = i;
    else return values[k]!;
  }
  return values[k]!;
}

/**
 * Dynamic thresholding of a `[batch, …]` tensor's data, each batch item on its own. The quantile
 * is torch's (linear interpolation between the order statistics at rank q·(n − 1), float32).
 */
export function dynamicThresholdInPlace(data: Float32Array, batch: number, ratio: number, maxValue: number): void {
  const size = data.length / batch;
  const scratch = new Float32Array(size);
  const rank = f32(f32(ratio) * (size - 1));
  const below = Math.floor(rank);
  const weight = f32(rank - below);
  for (let b = 0; b < batch; b++) {
    const item = data.subarray(b * size, (b + 1) * size);
    for (let i = 0; i < size; i++) scratch[i] = Math.abs(item[i]!);
    const start = selectInPlace(scratch, below);
    // The next order statistic is the smallest value right of the k-th after selection.
    let end = start;
    if (below + 1 < size) {
      end = Infinity;
      for (let i = below + 1; i < size; i++) if (scratch[i]! < end) end = scratch[i]!;
    }
    // torch.lerp: start + w·(end − start) for w < 0.5, else end − (end − start)·(1 − w).
    const quantile = weight < 0.5 ? f32(start + f32(weight * f32(end - start))) : f32(end - f32(f32(end - start) * f32(1 - weight)));
    const s = Math.min(Math.max(quantile, 1), f32(maxValue));
    for (let i = 0; i < size; i++) item[i] = Math.min(Math.max(item[i]!, -s), s) / s;
  }
}
