/**
 * Shared step pieces: the clean-sample estimate x̂₀ from the model output for each prediction
 * type — at ᾱ_t for the ᾱ-parameterised schedulers (DDPM, DDIM, LCM), at σ for the sigma-space
 * ones (Euler, Euler ancestral, Heun, LMS, KDPM2) — and its clipping/thresholding.
 */
import type { PredictionType } from '@latentkit/core';
import { clipInPlace, dynamicThresholdInPlace } from './thresholding';

const f32 = Math.fround;

/**
 * x̂₀ from the model output at ᾱ_t, in float32 like diffusers' tensor arithmetic:
 * ε: (x − √(1−ᾱ)·ε̂)/√ᾱ (Ho et al. 2020, eq. 15); v: √ᾱ·x − √(1−ᾱ)·v̂ (Salimans & Ho 2022, §4);
 * sample: the output itself. Writes into `out` (a new array by default).
 */
export function predictOriginalSample(
  predictionType: PredictionType,
  alphaProduct: number,
  modelOutput: Float32Array,
  sample: Float32Array,
  out: Float32Array = new Float32Array(sample.length),
): Float32Array {
  const sqrtAlpha = f32(Math.sqrt(alphaProduct));
  const sqrtBeta = f32(Math.sqrt(f32(1 - alphaProduct)));
  if (predictionType === 'epsilon') {
    for (let i = 0; i < out.length; i++) out[i] = f32(sample[i]! - f32(sqrtBeta * modelOutput[i]!)) / sqrtAlpha;
  } else if (predictionType === 'v_prediction') {
    for (let i = 0; i < out.length; i++) out[i] = f32(sqrtAlpha * sample[i]!) - f32(sqrtBeta * modelOutput[i]!);
  } else {
    out.set(modelOutput);
  }
  return out;
}

/**
 * x̂₀ from the model output at noise level σ (x = x₀ + σ·ε, Karras et al. 2022), in float32 like
 * diffusers: ε: x − σ_ε·ε̂; v: v̂·(−σ/√(σ²+1)) + x/(σ²+1) (Salimans & Ho 2022 in σ form);
 * sample: the output itself. `epsilonSigma` is the σ the ε branch uses (Euler's σ̂ with churn; σ
 * elsewhere), as in diffusers' schedulers.
 *
 * @example
 * ```ts
 * const original = predictOriginalSampleFromSigma('epsilon', 14.6, modelOutput.data, sample.data);
 * ```
 */
export function predictOriginalSampleFromSigma(
  predictionType: PredictionType,
  sigma: number,
  modelOutput: Float32Array,
  sample: Float32Array,
  epsilonSigma: number = sigma,
): Float32Array {
  const out = new Float32Array(sample.length);
  if (predictionType === 'epsilon') {
    for (let i = 0; i < out.length; i++) out[i] = sample[i]! - f32(epsilonSigma * modelOutput[i]!);
  } else if (predictionType === 'v_prediction') {
    const variance = f32(f32(sigma * sigma) + 1);
    const scale = f32(-sigma / f32(Math.sqrt(variance)));
    for (let i = 0; i < out.length; i++) out[i] = f32(modelOutput[i]! * scale) + f32(sample[i]! / variance);
  } else {
    out.set(modelOutput);
  }
  return out;
}

/** The config keys of x̂₀ clipping and dynamic thresholding. */
export interface ClippingConfig {
  thresholding: boolean;
  dynamic_thresholding_ratio: number;
  sample_max_value: number;
  clip_sample?: boolean;
  clip_sample_range?: number;
}

/** Applies dynamic thresholding, else clipping, as the config asks (in place). */
export function clampOriginalSample(config: ClippingConfig, data: Float32Array, batch: number): void {
  if (config.thresholding) dynamicThresholdInPlace(data, batch, config.dynamic_thresholding_ratio, config.sample_max_value);
  else if (config.clip_sample) clipInPlace(data, config.clip_sample_range ?? 1);
}
