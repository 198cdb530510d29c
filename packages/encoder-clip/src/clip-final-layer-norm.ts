/**
 * CLIP's final layer norm, applied in JavaScript for CLIP skip: diffusers encodes with
 * `text_model.final_layer_norm(hidden_states[-(clip_skip + 1)])`, but ONNX exports give
 * `hidden_states.N` before that norm, so its weights are read from the model file.
 */
import { ModelLoadError, type JsonObject } from '@latentkit/core';
import { readOnnxInitializers } from './onnx-initializers';

/** The parameters of a layer norm over the last axis (Ba et al. 2016, eq. 4). */
export interface LayerNormWeights {
  readonly weight: Float32Array;
  readonly bias: Float32Array;
  readonly epsilon: number;
}

const PREFIXES = ['text_model.final_layer_norm', 'final_layer_norm'];

/**
 * Reads `text_model.final_layer_norm.{weight,bias}` from an ONNX text encoder, with `layer_norm_eps`
 * from its config (default 1e-5, CLIP's).
 *
 * @example
 * ```ts
 * const norm = await readFinalLayerNorm('text_encoder/model.onnx', config);
 * ```
 */
export async function readFinalLayerNorm(modelFile: string, config: JsonObject): Promise<LayerNormWeights> {
  const names = PREFIXES.flatMap((p) => [`${p}.weight`, `${p}.bias`]);
  const found = await readOnnxInitializers(modelFile, names);
  for (const prefix of PREFIXES) {
    const weight = found.get(`${prefix}.weight`);
    const bias = found.get(`${prefix}.bias`);
    if (weight && bias && weight.data.length === bias.data.length) {
      const epsilon = typeof config.layer_norm_eps === 'number' ? config.layer_norm_eps : 1e-5;
      return { weight: weight.data, bias: bias.data, epsilon };
    }
  }
  throw new ModelLoadError({
    path: modelFile,
    reason:
      "clip skip needs the final layer norm's weights (text_model.final_layer_norm.weight / .bias), which this file does not hold: " +
      're-export without folding them away, or use clipSkip: 0',
  });
}

/**
 * Layer-normalises every row of width `weight.length` in place: `(x − mean) / sqrt(var + ε) · γ + β`,
 * accumulating in float64 and rounding once to float32.
 *
 * @example
 * ```ts
 * layerNormRows(hiddenStates.data, norm);
 * ```
 */
export function layerNormRows(data: Float32Array, norm: LayerNormWeights): void {
  const width = norm.weight.length;
  for (let start = 0; start < data.length; start += width) {
    let mean = 0;
    for (let i = 0; i < width; i++) mean += data[start + i]!;
    mean /= width;
    let variance = 0;
    for (let i = 0; i < width; i++) {
      const d = data[start + i]! - mean;
      variance += d * d;
    }
    const scale = 1 / Math.sqrt(variance / width + norm.epsilon);
    for (let i = 0; i < width; i++) data[start + i] = (data[start + i]! - mean) * scale * norm.weight[i]! + norm.bias[i]!;
  }
}
