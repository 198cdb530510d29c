/** The UNet contract: predicts noise (or v, or x₀) for a latent at a timestep, given text states. */
import type { Tensor } from './tensor';

export type PredictionType = 'epsilon' | 'v_prediction' | 'sample';

export interface UNetInput {
  /** The (scaled) latent model input `[batch, inChannels, h, w]`. */
  sample: Tensor<Float32Array>;
  /** The timestep (one for the whole batch). */
  timestep: number;
  /** Text states `[batch, seq, crossAttentionDim]`. */
  encoderHiddenStates: Tensor<Float32Array>;
  signal?: AbortSignal;
}

/**
 * A denoising UNet.
 *
 * @example
 * ```ts
 * const noise = await unet.predict({ sample, timestep: 981, encoderHiddenStates });
 * ```
 */
export interface UNet {
  readonly specificationVersion: 'v1';
  /** 4 for text-to-image; 9 (4 latent + 4 masked-image latent + 1 mask) for inpainting UNets. */
  readonly inChannels: number;
  readonly outChannels: number;
  /** Width of the text states the cross-attention reads. */
  readonly crossAttentionDim: number;
  /** Latent side the model was trained at (64 for SD 1.x at 512×512), when known. */
  readonly sampleSize?: number;
  /** What the model predicts, when its config says. */
  readonly predictionType?: PredictionType;
  /**
   * `[height, width]` of the only latent an export with fixed spatial axes accepts (undefined:
   * any size). The pipeline refuses other image sizes before running anything.
   */
  readonly fixedSampleSize?: readonly [height: number, width: number];
  /**
   * The latent sides this UNet accepts are multiples of this (2^(down-sampling stages): its skip
   * connections need the halves to line up again). Undefined: not known. The pipeline refuses
   * other image sizes before running anything, naming the nearest valid ones.
   */
  readonly sampleMultiple?: number;
  predict(input: UNetInput): Promise<Tensor<Float32Array>>;
  dispose?(): Promise<void> | void;
}
