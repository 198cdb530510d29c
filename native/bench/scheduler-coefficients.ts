/**
 * Per-step coefficients that turn common scheduler updates into the linear combination
 * `a·sample + b·prediction + c·noise` computed by {@link guidanceStep}, for ε-prediction models.
 * Computed in float64 once per step; the element-wise work stays in the fused kernel.
 */
import { requireFiniteNumber } from '../src/argument-checks';

/** The weights of sample, (guided) model prediction and noise in one step. */
export interface StepCoefficients {
  sampleCoefficient: number;
  predictionCoefficient: number;
  noiseCoefficient: number;
}

function requireProbability(functionName: string, name: string, value: number): number {
  requireFiniteNumber(functionName, name, value);
  if (!(value > 0 && value <= 1)) {
    throw new RangeError(`${functionName}: ${name} must be in (0, 1] (a cumulative alpha ᾱ), received ${value}`);
  }
  return value;
}

function requireSigma(functionName: string, name: string, value: number): number {
  requireFiniteNumber(functionName, name, value);
  if (value < 0) throw new RangeError(`${functionName}: ${name} must be ≥ 0, received ${value}`);
  return value;
}

/**
 * DDIM (Song et al. 2021, eq. 12): x_{t−1} = √ᾱ_{t−1}·x̂₀ + √(1 − ᾱ_{t−1} − σ²)·ε + σ·z with
 * x̂₀ = (x_t − √(1 − ᾱ_t)·ε)/√ᾱ_t and σ = η·√((1 − ᾱ_{t−1})/(1 − ᾱ_t))·√(1 − ᾱ_t/ᾱ_{t−1}) (eq. 16).
 *
 * @example
 * ```ts
 * const k = ddimStepCoefficients(alphasCumprod[901], alphasCumprod[801]); // η = 0: deterministic
 * guidanceStep({ sample, uncond, cond, ...k, out: sample });
 * ```
 */
export function ddimStepCoefficients(alphaProduct: number, alphaProductPrevious: number, eta = 0): StepCoefficients {
  const f = 'ddimStepCoefficients';
  const at = requireProbability(f, 'alphaProduct', alphaProduct);
  const ap = requireProbability(f, 'alphaProductPrevious', alphaProductPrevious);
  requireFiniteNumber(f, 'eta', eta);
  const variance = ((1 - ap) / (1 - at)) * (1 - at / ap);
  const sigma = eta * Math.sqrt(Math.max(variance, 0));
  const a = Math.sqrt(ap) / Math.sqrt(at);
  const b = Math.sqrt(Math.max(1 - ap - sigma * sigma, 0)) - (Math.sqrt(ap) * Math.sqrt(1 - at)) / Math.sqrt(at);
  return { sampleCoefficient: a, predictionCoefficient: b, noiseCoefficient: sigma };
}

/**
 * Euler (Karras et al. 2022, Algorithm 2 without churn): x_{i+1} = x_i + (σ_{i+1} − σ_i)·ε, since
 * the ODE derivative (x − x̂₀)/σ equals ε for an ε-prediction model.
 *
 * @example
 * ```ts
 * const k = eulerStepCoefficients(sigmas[i], sigmas[i + 1]);
 * guidanceStep({ sample, uncond, cond, ...k, out: sample });
 * ```
 */
export function eulerStepCoefficients(sigma: number, sigmaNext: number): StepCoefficients {
  const f = 'eulerStepCoefficients';
  requireSigma(f, 'sigma', sigma);
  requireSigma(f, 'sigmaNext', sigmaNext);
  return { sampleCoefficient: 1, predictionCoefficient: sigmaNext - sigma, noiseCoefficient: 0 };
}

/**
 * Euler ancestral (k-diffusion's `get_ancestral_step`, η = 1): σ_up = √(σ_next²·(σ² − σ_next²)/σ²),
 * σ_down = √(σ_next² − σ_up²), then x + (σ_down − σ)·ε + σ_up·z.
 *
 * @example
 * ```ts
 * const k = eulerAncestralStepCoefficients(sigmas[i], sigmas[i + 1]);
 * guidanceStep({ sample, uncond, cond, noise: randn(sample.length), ...k, out: sample });
 * ```
 */
export function eulerAncestralStepCoefficients(sigma: number, sigmaNext: number): StepCoefficients {
  const f = 'eulerAncestralStepCoefficients';
  requireSigma(f, 'sigma', sigma);
  requireSigma(f, 'sigmaNext', sigmaNext);
  if (sigma === 0) throw new RangeError(`${f}: sigma must be > 0, received 0`);
  const up = Math.sqrt((sigmaNext * sigmaNext * (sigma * sigma - sigmaNext * sigmaNext)) / (sigma * sigma));
  const down = Math.sqrt(sigmaNext * sigmaNext - up * up);
  return { sampleCoefficient: 1, predictionCoefficient: down - sigma, noiseCoefficient: up };
}
