/**
 * Just enough ONNX protobuf decoding and encoding to split a UNet graph into segments: nodes,
 * initializers and graph inputs/outputs are decoded for reading, and a segment model is encoded
 * by copying the original nodes' and initializers' bytes verbatim (so attributes, external-data
 * references and weights stay exactly as exported) around a freshly encoded GraphProto header.
 *
 * Kept in one file so it can be swapped for @latentkit/onnx's full ModelProto codec when that lands.
 */
import { protobufText, readProtobufFields, readVarint, type ProtobufField } from '@latentkit/onnx';

/** One node of the graph, with the byte span of its NodeProto in the model file. */
export interface GraphNode {
  readonly index: number;
  readonly name: string;
  readonly opType: string;
  readonly domain: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: ReadonlyMap<string, AttributeValue>;
  /** The NodeProto bytes (payload only). */
  readonly bytes: Uint8Array;
}

/** A decoded attribute: numbers, number lists, strings or a tensor. */
export type AttributeValue = number | readonly number[] | string | DecodedTensor;

/** A TensorProto, decoded when it holds its data inline. */
export interface DecodedTensor {
  readonly name: string;
  readonly dims: readonly number[];
  /** ONNX TensorProto.DataType: 1 float, 6 int32, 7 int64, 10 float16, 11 double. */
  readonly dataType: number;
  /** Inline values as numbers (float, int32, int64, double); undefined for external or other data. */
  readonly values?: readonly number[];
  readonly external: boolean;
  /** The external data file (relative to the model file), when `external`. */
  readonly location?: string;
}

/** A graph input or output (ValueInfoProto), with its bytes. */
export interface GraphValue {
  readonly name: string;
  /** ONNX element type (1 float, 7 int64, …); 0 when undeclared. */
  readonly elemType: number;
  readonly bytes: Uint8Array;
}

/** A decoded ModelProto, holding the file's bytes for verbatim re-encoding. */
export interface DecodedModel {
  readonly irVersion: number;
  /** Raw OperatorSetIdProto payloads, copied into segment models. */
  readonly opsetImports: readonly Uint8Array[];
  readonly nodes: readonly GraphNode[];
  readonly initializers: ReadonlyMap<string, { readonly bytes: Uint8Array; readonly tensor: DecodedTensor }>;
  readonly inputs: readonly GraphValue[];
  readonly outputs: readonly GraphValue[];
  /** Declared element types of intermediate values (GraphProto.value_info), by name. */
  readonly valueTypes: ReadonlyMap<string, number>;
}

function fieldsOf(bytes: Uint8Array, span?: ProtobufField): ProtobufField[] {
  return span === undefined ? readProtobufFields(bytes) : readProtobufFields(bytes, span.start, span.end);
}

function varintOf(bytes: Uint8Array, field: ProtobufField): number {
  return readVarint(bytes, field.start)[0];
}

/** Signed varint (int64 fields such as dims and attribute ints may be negative). */
function signedVarint(bytes: Uint8Array, position: number): [number, number] {
  let value = 0n;
  let shift = 0n;
  for (;;) {
    const byte = bytes[position++];
    if (byte === undefined) throw new RangeError('truncated protobuf: a varint runs past the end of the data');
    value |= BigInt(byte & 0x7f) << shift;
    shift += 7n;
    if ((byte & 0x80) === 0) break;
  }
  return [Number(BigInt.asIntN(64, value)), position];
}

function int64List(bytes: Uint8Array, fields: ProtobufField[], number: number): number[] {
  const out: number[] = [];
  for (const field of fields) {
    if (field.number !== number) continue;
    if (field.wire === 0) out.push(signedVarint(bytes, field.start)[0]);
    else if (field.wire === 2) {
      for (let position = field.start; position < field.end; ) {
        let value: number;
        [value, position] = signedVarint(bytes, position);
        out.push(value);
      }
    }
  }
  return out;
}

function float32List(bytes: Uint8Array, fields: ProtobufField[], number: number): number[] {
  const out: number[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const field of fields) {
    if (field.number !== number) continue;
    if (field.wire === 5) out.push(view.getFloat32(field.start, true));
    else if (field.wire === 2) for (let p = field.start; p + 4 <= field.end; p += 4) out.push(view.getFloat32(p, true));
  }
  return out;
}

/** Decodes a TensorProto held in `bytes[span]`. */
export function decodeTensor(bytes: Uint8Array, span?: ProtobufField): DecodedTensor {
  const fields = fieldsOf(bytes, span);
  const nameField = fields.find((f) => f.number === 8);
  const typeField = fields.find((f) => f.number === 2);
  const dims = int64List(bytes, fields, 1);
  const dataType = typeField ? varintOf(bytes, typeField) : 0;
  const locationField = fields.find((f) => f.number === 14);
  const external = locationField !== undefined && varintOf(bytes, locationField) === 1;
  const raw = fields.find((f) => f.number === 9);
  let values: number[] | undefined;
  const count = dims.reduce((a, b) => a * b, 1);
  if (!external && count <= 4096) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (raw !== undefined) {
      const width = dataType === 7 || dataType === 11 ? 8 : dataType === 1 || dataType === 6 ? 4 : 0;
      if (width > 0 && raw.end - raw.start === count * width) {
        values = [];
        for (let i = 0; i < count; i++) {
          const at = raw.start + i * width;
          values.push(
            dataType === 1 ? view.getFloat32(at, true)
              : dataType === 6 ? view.getInt32(at, true)
                : dataType === 7 ? Number(view.getBigInt64(at, true))
                  : view.getFloat64(at, true),
          );
        }
      }
    } else if (dataType === 1) values = float32List(bytes, fields, 4);
    else if (dataType === 7) values = int64List(bytes, fields, 7);
    else if (dataType === 6) values = int64List(bytes, fields, 5);
  }
  let location: string | undefined;
  for (const entry of fields.filter((f) => f.number === 13 && f.wire === 2)) {
    const parts = fieldsOf(bytes, entry);
    const key = parts.find((p) => p.number === 1);
    const value = parts.find((p) => p.number === 2);
    if (key && value && protobufText(bytes, key) === 'location') location = protobufText(bytes, value);
  }
  return { name: nameField ? protobufText(bytes, nameField) : '', dims, dataType, values, external, location };
}

function decodeAttribute(bytes: Uint8Array, span: ProtobufField): [string, AttributeValue | undefined] {
  const fields = fieldsOf(bytes, span);
  const name = protobufText(bytes, fields.find((f) => f.number === 1)!);
  const typeField = fields.find((f) => f.number === 20);
  const type = typeField ? varintOf(bytes, typeField) : 0;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (type) {
    case 1: { const f = fields.find((x) => x.number === 2); return [name, f ? view.getFloat32(f.start, true) : 0]; }
    case 2: { const f = fields.find((x) => x.number === 3); return [name, f ? signedVarint(bytes, f.start)[0] : 0]; }
    case 3: { const f = fields.find((x) => x.number === 4); return [name, f ? protobufText(bytes, f) : '']; }
    case 4: { const f = fields.find((x) => x.number === 5); return [name, f ? decodeTensor(bytes, f) : undefined]; }
    case 6: return [name, float32List(bytes, fields, 7)];
    case 7: return [name, int64List(bytes, fields, 8)];
    default: return [name, undefined];
  }
}

function decodeValue(bytes: Uint8Array, span: ProtobufField): GraphValue {
  const fields = fieldsOf(bytes, span);
  const name = protobufText(bytes, fields.find((f) => f.number === 1)!);
  let elemType = 0;
  const type = fields.find((f) => f.number === 2 && f.wire === 2);
  const tensorType = type && fieldsOf(bytes, type).find((f) => f.number === 1 && f.wire === 2);
  const elem = tensorType && fieldsOf(bytes, tensorType).find((f) => f.number === 1 && f.wire === 0);
  if (elem) elemType = varintOf(bytes, elem);
  return { name, elemType, bytes: bytes.subarray(span.start, span.end) };
}

/**
 * Decodes a model file's graph. Throws a `RangeError` on bytes that are not a ModelProto.
 *
 * @example
 * ```ts
 * const model = decodeModel(new Uint8Array(await fs.readFile('unet/model.onnx')));
 * model.nodes.filter((n) => n.opType === 'Softmax').length; // 32 in SD 1.5
 * ```
 */
export function decodeModel(bytes: Uint8Array): DecodedModel {
  const top = readProtobufFields(bytes);
  const graph = top.find((f) => f.number === 7 && f.wire === 2);
  if (graph === undefined) throw new RangeError('not an ONNX model: no ModelProto.graph field');
  const irField = top.find((f) => f.number === 1 && f.wire === 0);
  const opsetImports = top.filter((f) => f.number === 8 && f.wire === 2).map((f) => bytes.subarray(f.start, f.end));
  const nodes: GraphNode[] = [];
  const initializers = new Map<string, { bytes: Uint8Array; tensor: DecodedTensor }>();
  const inputs: GraphValue[] = [];
  const outputs: GraphValue[] = [];
  const valueTypes = new Map<string, number>();
  for (const field of fieldsOf(bytes, graph)) {
    if (field.wire !== 2) continue;
    if (field.number === 1) {
      const parts = fieldsOf(bytes, field);
      const text = (n: number) => parts.filter((p) => p.number === n).map((p) => protobufText(bytes, p));
      const attributes = new Map<string, AttributeValue>();
      for (const part of parts) {
        if (part.number !== 5) continue;
        const [name, value] = decodeAttribute(bytes, part);
        if (value !== undefined) attributes.set(name, value);
      }
      nodes.push({
        index: nodes.length,
        name: text(3)[0] ?? '',
        opType: text(4)[0] ?? '',
        domain: text(7)[0] ?? '',
        inputs: text(1),
        outputs: text(2),
        attributes,
        bytes: bytes.subarray(field.start, field.end),
      });
    } else if (field.number === 5) {
      const tensor = decodeTensor(bytes, field);
      initializers.set(tensor.name, { bytes: bytes.subarray(field.start, field.end), tensor });
    } else if (field.number === 11) inputs.push(decodeValue(bytes, field));
    else if (field.number === 12) outputs.push(decodeValue(bytes, field));
    else if (field.number === 13) {
      const value = decodeValue(bytes, field);
      if (value.elemType !== 0) valueTypes.set(value.name, value.elemType);
    }
  }
  return { irVersion: irField ? varintOf(bytes, irField) : 7, opsetImports, nodes, initializers, inputs, outputs, valueTypes };
}

/** Appends protobuf fields to a growing list of byte chunks. */
export class ProtobufWriter {
  private readonly chunks: Uint8Array[] = [];
  private length = 0;

  private push(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  private varint(value: number): void {
    const out: number[] = [];
    let rest = value;
    while (rest >= 0x80) {
      out.push((rest % 128) | 0x80);
      rest = Math.floor(rest / 128);
    }
    out.push(rest);
    this.push(Uint8Array.from(out));
  }

  uint(number: number, value: number): this {
    this.varint(number * 8);
    this.varint(value);
    return this;
  }

  bytes(number: number, payload: Uint8Array): this {
    this.varint(number * 8 + 2);
    this.varint(payload.length);
    this.push(payload);
    return this;
  }

  text(number: number, value: string): this {
    return this.bytes(number, new TextEncoder().encode(value));
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }
}

/** A ValueInfoProto with a name and an element type, shape left to onnxruntime's inference. */
export function encodeValueInfo(name: string, elemType: number): Uint8Array {
  const tensorType = new ProtobufWriter().uint(1, elemType).finish();
  const type = new ProtobufWriter().bytes(1, tensorType).finish();
  return new ProtobufWriter().text(1, name).bytes(2, type).finish();
}

/** What a segment model holds: original nodes and initializers by reference, new inputs/outputs. */
export interface SegmentGraph {
  readonly name: string;
  readonly nodes: readonly GraphNode[];
  readonly initializers: readonly Uint8Array[];
  /** Encoded ValueInfoProtos. */
  readonly inputs: readonly Uint8Array[];
  readonly outputs: readonly Uint8Array[];
}

/**
 * Encodes a ModelProto for a segment, with the source model's IR version and opsets.
 *
 * @example
 * ```ts
 * const bytes = encodeSegmentModel(model, { name: 'segment 0', nodes, initializers, inputs, outputs });
 * ```
 */
export function encodeSegmentModel(model: DecodedModel, segment: SegmentGraph): Uint8Array {
  const graph = new ProtobufWriter();
  for (const node of segment.nodes) graph.bytes(1, node.bytes);
  graph.text(2, segment.name);
  for (const initializer of segment.initializers) graph.bytes(5, initializer);
  for (const input of segment.inputs) graph.bytes(11, input);
  for (const output of segment.outputs) graph.bytes(12, output);
  const out = new ProtobufWriter().uint(1, model.irVersion).text(2, 'latentkit-attention-split');
  out.bytes(7, graph.finish());
  for (const opset of model.opsetImports) out.bytes(8, opset);
  return out.finish();
}
