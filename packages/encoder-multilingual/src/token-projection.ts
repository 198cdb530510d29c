/**
 * A linear map applied to every token's state: how AltDiffusion brings XLM-R's 1024-wide states
 * to the 768 its UNet's cross-attention reads (`RobertaSeriesModelWithTransformation.transformation`).
 * When the export does not include it, it ships beside the encoder as `projection.safetensors`
 * with `weight` `[out, in]` (PyTorch's `nn.Linear` layout) and an optional `bias` `[out]`.
 */
import { ModelLoadError, createTensor, type Tensor } from '@latentkit/core';
import { readSafetensors } from './safetensors';

/** The file name a projection is read from, beside `model.onnx`. */
export const PROJECTION_FILE = 'projection.safetensors';

/**
 * `y = x Wᵀ + b` per token.
 *
 * @example
 * ```ts
 * const projection = await TokenProjection.fromFile('text_encoder_multilingual/projection.safetensors');
 * const projected = projection.apply(hiddenStates); // [batch, seq, projection.outputSize]
 * ```
 */
export class TokenProjection {
  private constructor(
    /** `[outputSize, inputSize]`, row-major. */
    readonly weight: Float32Array,
    readonly bias: Float32Array | undefined,
    readonly inputSize: number,
    readonly outputSize: number,
  ) {}

  /** Reads `weight` (and `bias`) from a safetensors file. */
  static async fromFile(file: string): Promise<TokenProjection> {
    const tensors = await readSafetensors(file);
    const weight = tensors.get('weight');
    if (!weight || weight.dims.length !== 2) {
      throw new ModelLoadError({ path: file, reason: `it must hold 'weight' of shape [out, in] (nn.Linear's layout), found ${weight ? `[${weight.dims}]` : 'none'}` });
    }
    const [outputSize, inputSize] = weight.dims as [number, number];
    const bias = tensors.get('bias');
    if (bias && (bias.dims.length !== 1 || bias.dims[0] !== outputSize)) {
      throw new ModelLoadError({ path: file, reason: `'bias' must have shape [${outputSize}], found [${bias.dims}]` });
    }
    return new TokenProjection(weight.data, bias?.data, inputSize, outputSize);
  }

  /** Projects `[batch, seq, inputSize]` to `[batch, seq, outputSize]`, accumulating in float64. */
  apply(states: Tensor<Float32Array>): Tensor<Float32Array> {
    const [batch = 0, sequence = 0, width] = states.dims;
    if (width !== this.inputSize) {
      throw new ModelLoadError({
        path: PROJECTION_FILE,
        reason: `the projection takes ${this.inputSize}-wide states but the encoder gives ${String(width)}: ship the projection trained with this encoder`,
      });
    }
    const rows = batch * sequence;
    const out = new Float32Array(rows * this.outputSize);
    const input = states.data;
    for (let r = 0; r < rows; r++) {
      const x = r * this.inputSize;
      for (let o = 0; o < this.outputSize; o++) {
        const w = o * this.inputSize;
        let sum = this.bias ? this.bias[o]! : 0;
        for (let i = 0; i < this.inputSize; i++) sum += input[x + i]! * this.weight[w + i]!;
        out[r * this.outputSize + o] = sum;
      }
    }
    return createTensor([batch, sequence, this.outputSize], out);
  }
}
