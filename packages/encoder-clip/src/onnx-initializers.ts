/**
 * Reads named float32 initializers (weights) out of an `.onnx` file without onnxruntime, which
 * does not expose them. Used for CLIP skip: the exported `hidden_states.N` are taken before CLIP's
 * final layer norm, and diffusers applies that norm to the chosen layer, so its weights are needed.
 *
 * The file is decoded by `@latentkit/onnx`'s reader, which steps over every payload: only the
 * wanted tensors' bytes are read, so finding two 768-float vectors in a 500 MB text encoder reads
 * the graph's structure and those 6 KB.
 */
import * as path from 'node:path';
import { ModelLoadError } from '@latentkit/core';
import { ByteRange, OnnxDataType, externalDataOf, readOnnxModelFile, type OnnxModel } from '@latentkit/onnx';

/** A float32 initializer read from an ONNX file. */
export interface OnnxInitializer {
  readonly name: string;
  readonly dims: readonly number[];
  readonly data: Float32Array;
}

/**
 * Reads the float32 initializers with the given names, stored inside the file (`raw_data` or
 * `float_data`) or in an external data file beside it.
 *
 * @example
 * ```ts
 * const found = await readOnnxInitializers('text_encoder/model.onnx', ['text_model.final_layer_norm.weight']);
 * found.get('text_model.final_layer_norm.weight')?.data.length; // 768
 * ```
 */
export async function readOnnxInitializers(file: string, names: readonly string[]): Promise<Map<string, OnnxInitializer>> {
  let model: OnnxModel;
  try {
    model = readOnnxModelFile(file);
  } catch (error) {
    if (!ModelLoadError.isInstance(error) || !/not a valid ONNX model/.test(error.message)) throw error;
    throw new ModelLoadError({ path: file, reason: `it is not a valid ONNX protobuf (${(error.cause as Error).message})`, cause: error });
  }
  const wanted = new Set(names);
  const found = new Map<string, OnnxInitializer>();
  for (const tensor of model.graph.initializers) {
    if (!wanted.has(tensor.name) || tensor.dataType !== OnnxDataType.FLOAT) continue;
    const external = externalDataOf(tensor);
    const elements = tensor.dims.reduce<number>((product, dim) => product * Number(dim), 1);
    const range = external
      ? ByteRange.inFile(path.join(path.dirname(file), external.location), external.offset, external.length ?? elements * 4)
      : tensor.data;
    const bytes = range instanceof ByteRange ? range.read() : range?.bytes.read();
    if (!bytes) continue;
    // raw_data and packed float_data are both little-endian float32; copy to an aligned buffer.
    const data = new Float32Array(bytes.length / 4);
    new Uint8Array(data.buffer).set(bytes.subarray(0, data.length * 4));
    found.set(tensor.name, { name: tensor.name, dims: tensor.dims.map(Number), data });
  }
  return found;
}
