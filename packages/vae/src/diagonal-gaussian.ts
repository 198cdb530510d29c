/**
 * Sampling the VAE's posterior q(z|x) = N(μ, σ²) from the encoder's moments, as diffusers'
 * `DiagonalGaussianDistribution` does (Kingma & Welling 2014, eq. 10: z = μ + σ ⊙ ε).
 */
import { InvalidArgumentError, createTensor, numel, type Generator, type Tensor } from '@latentkit/core';

/** How the second half of the moments' channels holds the spread. */
export type Spread = 'log-variance' | 'standard-deviation';

/**
 * Splits `[batch, 2C, h, w]` moments into mean and spread and returns `mean + σ · ε`, with
 * ε = `generator.randn([batch, C, h, w])` (one draw of the mean's shape, the order diffusers
 * uses); without a generator, the mean. A log-variance is clamped to [-30, 20] and turned into
 * σ = exp(logvar / 2) as in diffusers; `'standard-deviation'` takes σ as given (what an ONNX
 * encoder's exposed `std` holds).
 *
 * @example
 * ```ts
 * const latents = samplePosterior(moments, new TorchGenerator(42)); // [1, 4, 64, 64] from [1, 8, 64, 64]
 * ```
 */
export function samplePosterior(moments: Tensor<Float32Array>, generator?: Generator, spread: Spread = 'log-variance'): Tensor<Float32Array> {
  const [batch = 0, doubled = 0, height = 0, width = 0] = moments.dims;
  if (moments.dims.length !== 4 || doubled % 2 !== 0) {
    throw new InvalidArgumentError({ name: 'moments', expected: 'a [batch, 2·latentChannels, h, w] tensor (mean and log-variance)', actual: moments.dims });
  }
  const channels = doubled / 2;
  const dims = [batch, channels, height, width];
  const plane = channels * height * width;
  const out = new Float32Array(numel(dims));
  const noise = generator?.randn(dims);
  for (let b = 0; b < batch; b++) {
    const mean = moments.data.subarray(b * 2 * plane, b * 2 * plane + plane);
    const second = moments.data.subarray(b * 2 * plane + plane, (b + 1) * 2 * plane);
    const target = out.subarray(b * plane, (b + 1) * plane);
    if (!noise) {
      target.set(mean);
      continue;
    }
    const eps = noise.subarray(b * plane, (b + 1) * plane);
    for (let i = 0; i < plane; i++) {
      // float32 at each operation, as torch computes `std = exp(0.5 * logvar)`, `mean + std * eps`.
      const std = spread === 'standard-deviation' ? second[i]! : Math.fround(Math.exp(Math.fround(0.5 * Math.min(20, Math.max(-30, second[i]!)))));
      target[i] = mean[i]! + Math.fround(std * eps[i]!);
    }
  }
  return createTensor(dims, out);
}
