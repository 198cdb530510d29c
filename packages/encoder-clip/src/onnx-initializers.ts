/**
 * Reads named float32 initializers (weights) out of an `.onnx` file without onnxruntime, which
 * does not expose them. Used for CLIP skip: the exported `hidden_states.N` are taken before CLIP's
 * final layer norm, and diffusers applies that norm to the chosen layer, so its weights are needed.
 *
 * An ONNX file is a protobuf `ModelProto` (onnx/onnx.proto): field 7 is the `GraphProto`, whose
 * field 5 repeats `TensorProto`s: `dims` (1), `data_type` (2; 1 = FLOAT), `float_data` (4),
 * `name` (8), `raw_data` (9, little-endian). Only the wire format is decoded here, lazily.
 */
import { promises as fs } from 'node:fs';
import { ModelLoadError } from '@latentkit/core';

/** A float32 initializer read from an ONNX file. */
export interface OnnxInitializer {
  readonly name: string;
  readonly dims: readonly number[];
  readonly data: Float32Array;
}

const ONNX_FLOAT = 1;

class WireReader {
  position: number;
  constructor(
    readonly bytes: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.position = start;
  }
  varint(): number {
    let result = 0;
    let scale = 1;
    for (;;) {
      if (this.position >= this.end) throw new Error('truncated varint');
      const byte = this.bytes[this.position++]!;
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 128;
    }
  }
  /** Returns [field number, wire type, start, end] of the next field, skipping its payload. */
  next(): [number, number, number, number] {
    const key = this.varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    const start = this.position;
    if (wire === 0) this.varint();
    else if (wire === 1) this.position += 8;
    else if (wire === 5) this.position += 4;
    else if (wire === 2) {
      const length = this.varint();
      const payload = this.position;
      this.position += length;
      return [field, wire, payload, this.position];
    } else throw new Error(`unsupported wire type ${wire}`);
    return [field, wire, start, this.position];
  }
}

function readTensor(bytes: Uint8Array, start: number, end: number, wanted: ReadonlySet<string>): OnnxInitializer | undefined {
  const reader = new WireReader(bytes, start, end);
  const dims: number[] = [];
  let dataType = 0;
  let name = '';
  let raw: [number, number] | undefined;
  let floats: [number, number] | undefined;
  while (reader.position < end) {
    const [field, wire, from, to] = reader.next();
    if (field === 1 && wire === 0) dims.push(new WireReader(bytes, from, to).varint());
    else if (field === 1 && wire === 2) {
      const packed = new WireReader(bytes, from, to);
      while (packed.position < to) dims.push(packed.varint());
    } else if (field === 2) dataType = new WireReader(bytes, from, to).varint();
    else if (field === 8) name = Buffer.from(bytes.buffer, bytes.byteOffset + from, to - from).toString('utf8');
    else if (field === 9) raw = [from, to];
    else if (field === 4 && wire === 2) floats = [from, to];
  }
  if (!wanted.has(name) || dataType !== ONNX_FLOAT) return undefined;
  const span = raw ?? floats;
  if (!span) return undefined;
  // Copy: the file buffer's offsets need not be 4-byte aligned.
  const data = new Float32Array(new Uint8Array(bytes.subarray(span[0], span[1])).buffer);
  return { name, dims, data };
}

/**
 * Reads the float32 initializers with the given names (those stored inside the file).
 *
 * @example
 * ```ts
 * const found = await readOnnxInitializers('text_encoder/model.onnx', ['text_model.final_layer_norm.weight']);
 * found.get('text_model.final_layer_norm.weight')?.data.length; // 768
 * ```
 */
export async function readOnnxInitializers(file: string, names: readonly string[]): Promise<Map<string, OnnxInitializer>> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(file);
  } catch (error) {
    throw new ModelLoadError({ path: file, reason: 'the ONNX model file cannot be read', cause: error });
  }
  const wanted = new Set(names);
  const found = new Map<string, OnnxInitializer>();
  try {
    const model = new WireReader(bytes, 0, bytes.length);
    while (model.position < bytes.length) {
      const [field, wire, from, to] = model.next();
      if (field !== 7 || wire !== 2) continue;
      const graph = new WireReader(bytes, from, to);
      while (graph.position < to) {
        const [graphField, graphWire, start, end] = graph.next();
        if (graphField !== 5 || graphWire !== 2) continue;
        const tensor = readTensor(bytes, start, end, wanted);
        if (tensor) found.set(tensor.name, tensor);
      }
    }
  } catch (error) {
    throw new ModelLoadError({ path: file, reason: `it is not a valid ONNX protobuf (${(error as Error).message})`, cause: error });
  }
  return found;
}
