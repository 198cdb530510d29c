/**
 * Reads named float32 initializers (weights) out of an `.onnx` file without onnxruntime, which
 * does not expose them. Used for CLIP skip: the exported `hidden_states.N` are taken before CLIP's
 * final layer norm, and diffusers applies that norm to the chosen layer, so its weights are needed.
 *
 * An ONNX file is a protobuf `ModelProto` (onnx/onnx.proto): field 7 is the `GraphProto`, whose
 * field 5 repeats `TensorProto`s: `dims` (1), `data_type` (2; 1 = FLOAT), `float_data` (4),
 * `name` (8), `raw_data` (9, little-endian). Only the wire format is decoded, through a small
 * window on the file: payloads that are not wanted are skipped, never read, so finding two
 * 768-float vectors in a 500 MB text encoder reads a few kilobytes per tensor header.
 */
import { closeSync, openSync, readSync, fstatSync } from 'node:fs';
import { ModelLoadError } from '@latentkit/core';

/** A float32 initializer read from an ONNX file. */
export interface OnnxInitializer {
  readonly name: string;
  readonly dims: readonly number[];
  readonly data: Float32Array;
}

const ONNX_FLOAT = 1;
const WINDOW_BYTES = 4096;

/** Random access to a file's bytes through one cached window. */
class FileWindow {
  private window = Buffer.alloc(0);
  private start = 0;
  constructor(
    private readonly fd: number,
    readonly size: number,
  ) {}
  byte(position: number): number {
    if (position < this.start || position >= this.start + this.window.length) {
      if (position >= this.size) throw new Error('unexpected end of file');
      this.window = Buffer.alloc(Math.min(WINDOW_BYTES, this.size - position));
      readSync(this.fd, this.window, 0, this.window.length, position);
      this.start = position;
    }
    return this.window[position - this.start]!;
  }
  bytes(from: number, to: number): Buffer {
    if (to > this.size) throw new Error('a field runs past the end of the file');
    const out = Buffer.alloc(to - from);
    readSync(this.fd, out, 0, out.length, from);
    return out;
  }
}

/** Protobuf wire-format reading over [position, end) of a {@link FileWindow}. */
class WireReader {
  constructor(
    private readonly file: FileWindow,
    public position: number,
    readonly end: number,
  ) {}
  varint(): number {
    let result = 0;
    let scale = 1;
    for (;;) {
      if (this.position >= this.end) throw new Error('truncated varint');
      const byte = this.file.byte(this.position++);
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 128;
    }
  }
  /** The next field's number, wire type and payload span; the payload is skipped. */
  next(): { field: number; wire: number; from: number; to: number } {
    const key = this.varint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    let from = this.position;
    if (wire === 0) this.varint();
    else if (wire === 1) this.position += 8;
    else if (wire === 5) this.position += 4;
    else if (wire === 2) {
      const length = this.varint();
      from = this.position;
      this.position += length;
    } else throw new Error(`unsupported wire type ${wire}`);
    if (this.position > this.end) throw new Error('a field runs past its message');
    return { field, wire, from, to: this.position };
  }
}

function readTensor(file: FileWindow, from: number, to: number, wanted: ReadonlySet<string>): OnnxInitializer | undefined {
  const reader = new WireReader(file, from, to);
  const dims: number[] = [];
  let dataType = 0;
  let name = '';
  let payload: { from: number; to: number } | undefined;
  while (reader.position < to) {
    const f = reader.next();
    if (f.field === 1 && f.wire === 0) dims.push(new WireReader(file, f.from, f.to).varint());
    else if (f.field === 1 && f.wire === 2) {
      const packed = new WireReader(file, f.from, f.to);
      while (packed.position < f.to) dims.push(packed.varint());
    } else if (f.field === 2 && f.wire === 0) dataType = new WireReader(file, f.from, f.to).varint();
    else if (f.field === 8 && f.wire === 2) name = file.bytes(f.from, f.to).toString('utf8');
    // raw_data (9) or packed float_data (4): remember where, read only if the name is wanted.
    else if ((f.field === 9 || f.field === 4) && f.wire === 2) payload = { from: f.from, to: f.to };
  }
  if (!wanted.has(name) || dataType !== ONNX_FLOAT || !payload) return undefined;
  const bytes = file.bytes(payload.from, payload.to);
  const data = new Float32Array(bytes.length / 4);
  for (let i = 0; i < data.length; i++) data[i] = bytes.readFloatLE(i * 4);
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
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    throw new ModelLoadError({ path: file, reason: 'the ONNX model file cannot be read', cause: error });
  }
  const wanted = new Set(names);
  const found = new Map<string, OnnxInitializer>();
  try {
    const window = new FileWindow(fd, fstatSync(fd).size);
    const model = new WireReader(window, 0, window.size);
    while (model.position < window.size) {
      const graph = model.next();
      if (graph.field !== 7 || graph.wire !== 2) continue;
      const graphReader = new WireReader(window, graph.from, graph.to);
      while (graphReader.position < graph.to) {
        const entry = graphReader.next();
        if (entry.field !== 5 || entry.wire !== 2) continue;
        const tensor = readTensor(window, entry.from, entry.to, wanted);
        if (tensor) found.set(tensor.name, tensor);
      }
    }
  } catch (error) {
    throw new ModelLoadError({ path: file, reason: `it is not a valid ONNX protobuf (${(error as Error).message})`, cause: error });
  } finally {
    closeSync(fd);
  }
  return found;
}
