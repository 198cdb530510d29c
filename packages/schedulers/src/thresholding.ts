/**
 * Keeping the predicted clean sample x̂₀ in range: plain clipping, and dynamic thresholding
 * (Saharia et al. 2022, "Imagen", §2.3): per image, s = the `ratio` quantile of |x̂₀| clamped to
 * [1, max], then x̂₀ ← clamp(x̂₀, −s, s)/s. Both work in place on float32 data.
 */

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
 * Dynamic thresholding of a `[batch, …]` tensor's data, each batch item on its own. The quantile
 * is torch's (linear interpolation between the sorted neighbours at rank q·(n − 1), float32).
 */
export function dynamicThresholdInPlace(data: Float32Array, batch: number, ratio: number, maxValue: number): void {
  const size = data.length / batch;
  const sorted = new Float32Array(size);
  const rank = f32(f32(ratio) * (size - 1));
  const below = Math.floor(rank);
  const above = Math.min(below + 1, size - 1);
  const weight = f32(rank - below);
  for (let b = 0; b < batch; b++) {
    const item = data.subarray(b * size, (b + 1) * size);
    for (let i = 0; i < size; i++) sorted[i] = Math.abs(item[i]!);
    sorted.sort();
    const start = sorted[below]!;
    const end = sorted[above]!;
    // torch.lerp: start + w·(end − start) for w < 0.5, else end − (end − start)·(1 − w).
    const quantile = weight < 0.5 ? f32(start + f32(weight * f32(end - start))) : f32(end - f32(f32(end - start) * f32(1 - weight)));
    const s = Math.min(Math.max(quantile, 1), f32(maxValue));
    for (let i = 0; i < size; i++) item[i] = Math.min(Math.max(item[i]!, -s), s) / s;
  }
}
