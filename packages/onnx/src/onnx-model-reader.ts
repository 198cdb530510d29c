/**
 * Decodes an ONNX file into {@link OnnxModel} objects without onnxruntime and without reading
 * weights: a tensor's payload (`raw_data`, packed `float_data`, …) is recorded as a
 * {@link ByteRange} and stepped over by its length, and external data files are never opened.
 * Reading a model's structure therefore costs about the size of its graph, not of its weights.
 */
import { ModelLoadError } from '@latentkit/core';
import { ByteRange, FileSource, memorySource, type ByteSource } from './byte-source';
import type {
  Int64,
  OnnxAttribute,
  OnnxGraph,
  OnnxKeyValue,
  OnnxModel,
  OnnxNode,
  OnnxOpsetImport,
  OnnxTensor,
  OnnxTensorDataField,
  OnnxTensorType,
  OnnxGraphValue,
} from './onnx-model';
import { ProtobufReader, type ProtobufField } from './protobuf-reader';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const LENGTH_DELIMITED = 2;
const VARINT = 0;

/** TensorProto's typed data fields by number (packed, wire type 2). */
const TENSOR_DATA_FIELDS: Readonly<Record<number, OnnxTensorDataField>> = {
  4: 'float_data',
  5: 'int32_data',
  7: 'int64_data',
  9: 'raw_data',
  10: 'double_data',
  11: 'uint64_data',
};

function keyValue(reader: ProtobufReader, field: ProtobufField): OnnxKeyValue {
  let key = '';
  let value = '';
  for (const part of reader.fields(field.start, field.end)) {
    if (part.number === 1 && part.wire === LENGTH_DELIMITED) key = reader.text(part);
    else if (part.number === 2 && part.wire === LENGTH_DELIMITED) value = reader.text(part);
  }
  return { key, value };
}

function int64s(reader: ProtobufReader, field: ProtobufField, into: Int64[]): void {
  if (field.wire === VARINT) into.push(reader.int64(field.start, field.end));
  else into.push(...reader.packedInt64(field));
}

function decodeTensor(reader: ProtobufReader, start: number, end: number): OnnxTensor {
  const tensor: Mutable<OnnxTensor> = { name: '', dataType: 0, dims: [] };
  const dims: Int64[] = [];
  const externalData: OnnxKeyValue[] = [];
  const preserved: Uint8Array[] = [];
  for (const field of reader.fields(start, end)) {
    const dataField = TENSOR_DATA_FIELDS[field.number];
    if (field.number === 1 && (field.wire === VARINT || field.wire === LENGTH_DELIMITED)) int64s(reader, field, dims);
    else if (field.number === 2 && field.wire === VARINT) tensor.dataType = reader.varint(field.start, field.end)[0];
    else if (field.number === 8 && field.wire === LENGTH_DELIMITED) tensor.name = reader.text(field);
    else if (dataField && field.wire === LENGTH_DELIMITED && !tensor.data) {
      tensor.data = { field: dataField, bytes: ByteRange.fromSource(reader.source, field.start, field.end - field.start) };
    } else if (field.number === 12 && field.wire === LENGTH_DELIMITED) tensor.docString = reader.text(field);
    else if (field.number === 13 && field.wire === LENGTH_DELIMITED) externalData.push(keyValue(reader, field));
    else if (field.number === 14 && field.wire === VARINT) tensor.dataLocation = reader.varint(field.start, field.end)[0];
    else preserved.push(reader.wholeField(field));
  }
  tensor.dims = dims;
  if (externalData.length) tensor.externalData = externalData;
  if (preserved.length) tensor.preserved = preserved;
  return tensor;
}

/** A TypeProto holding only `tensor_type { elem_type, shape { dim { dim_value | dim_param } } }` decodes fully. */
function decodeType(reader: ProtobufReader, field: ProtobufField): { tensorType?: OnnxTensorType; typePreserved?: Uint8Array } {
  let tensorType: OnnxTensorType | undefined;
  let exact = true;
  for (const part of reader.fields(field.start, field.end)) {
    if (part.number !== 1 || part.wire !== LENGTH_DELIMITED) {
      exact = false;
      continue;
    }
    let elemType = 0;
    let shape: (number | string | null)[] | undefined;
    for (const inner of reader.fields(part.start, part.end)) {
      if (inner.number === 1 && inner.wire === VARINT) elemType = reader.varint(inner.start, inner.end)[0];
      else if (inner.number === 2 && inner.wire === LENGTH_DELIMITED) {
        shape = [];
        for (const dim of reader.fields(inner.start, inner.end)) {
          if (dim.number !== 1 || dim.wire !== LENGTH_DELIMITED) {
            exact = false;
            continue;
          }
          let value: number | string | null = null;
          for (const d of reader.fields(dim.start, dim.end)) {
            if (d.number === 1 && d.wire === VARINT) value = Number(reader.int64(d.start, d.end));
            else if (d.number === 2 && d.wire === LENGTH_DELIMITED) value = reader.text(d);
            else exact = false; // a denotation: kept through typePreserved
          }
          shape.push(value);
        }
      } else exact = false;
    }
    tensorType = shape ? { elemType, shape } : { elemType };
  }
  return { ...(tensorType ? { tensorType } : {}), ...(exact && tensorType ? {} : { typePreserved: reader.bytes(field) }) };
}

function decodeValueInfo(reader: ProtobufReader, start: number, end: number): OnnxGraphValue {
  const info: Mutable<OnnxGraphValue> = { name: '' };
  const preserved: Uint8Array[] = [];
  for (const field of reader.fields(start, end)) {
    if (field.number === 1 && field.wire === LENGTH_DELIMITED) info.name = reader.text(field);
    else if (field.number === 2 && field.wire === LENGTH_DELIMITED) Object.assign(info, decodeType(reader, field));
    else if (field.number === 3 && field.wire === LENGTH_DELIMITED) info.docString = reader.text(field);
    else preserved.push(reader.wholeField(field));
  }
  if (preserved.length) info.preserved = preserved;
  return info;
}

function decodeAttribute(reader: ProtobufReader, start: number, end: number): OnnxAttribute {
  const attribute: Mutable<OnnxAttribute> = { name: '', type: 0 };
  const floats: number[] = [];
  const ints: Int64[] = [];
  const strings: Uint8Array[] = [];
  const tensors: OnnxTensor[] = [];
  const graphs: OnnxGraph[] = [];
  const preserved: Uint8Array[] = [];
  for (const field of reader.fields(start, end)) {
    const delimited = field.wire === LENGTH_DELIMITED;
    switch (field.number) {
      case 1: if (delimited) { attribute.name = reader.text(field); continue; } break;
      case 2: if (field.wire === 5) { attribute.f = reader.float32(field); continue; } break;
      case 3: if (field.wire === VARINT) { attribute.i = reader.int64(field.start, field.end); continue; } break;
      case 4: if (delimited) { attribute.s = reader.bytes(field); continue; } break;
      case 5: if (delimited) { attribute.t = decodeTensor(reader, field.start, field.end); continue; } break;
      case 6: if (delimited) { attribute.g = decodeGraph(reader, field.start, field.end); continue; } break;
      case 7:
        if (field.wire === 5) { floats.push(reader.float32(field)); continue; }
        if (delimited) {
          const bytes = reader.source.read(field.start, field.end - field.start);
          const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
          for (let p = 0; p + 4 <= bytes.length; p += 4) floats.push(view.getFloat32(p, true));
          continue;
        }
        break;
      case 8: if (field.wire === VARINT || delimited) { int64s(reader, field, ints); continue; } break;
      case 9: if (delimited) { strings.push(reader.bytes(field)); continue; } break;
      case 10: if (delimited) { tensors.push(decodeTensor(reader, field.start, field.end)); continue; } break;
      case 11: if (delimited) { graphs.push(decodeGraph(reader, field.start, field.end)); continue; } break;
      case 13: if (delimited) { attribute.docString = reader.text(field); continue; } break;
      case 20: if (field.wire === VARINT) { attribute.type = reader.varint(field.start, field.end)[0]; continue; } break;
      case 21: if (delimited) { attribute.refAttrName = reader.text(field); continue; } break;
    }
    preserved.push(reader.wholeField(field));
  }
  if (floats.length || attribute.type === 6) attribute.floats = floats;
  if (ints.length || attribute.type === 7) attribute.ints = ints;
  if (strings.length || attribute.type === 8) attribute.strings = strings;
  if (tensors.length || attribute.type === 9) attribute.tensors = tensors;
  if (graphs.length || attribute.type === 10) attribute.graphs = graphs;
  if (preserved.length) attribute.preserved = preserved;
  return attribute;
}

function decodeNode(reader: ProtobufReader, start: number, end: number): OnnxNode {
  const node: Mutable<OnnxNode> = { name: '', opType: '', domain: '', inputs: [], outputs: [], attributes: [] };
  const inputs: string[] = [];
  const outputs: string[] = [];
  const attributes: OnnxAttribute[] = [];
  const preserved: Uint8Array[] = [];
  for (const field of reader.fields(start, end)) {
    if (field.wire !== LENGTH_DELIMITED) preserved.push(reader.wholeField(field));
    else if (field.number === 1) inputs.push(reader.text(field));
    else if (field.number === 2) outputs.push(reader.text(field));
    else if (field.number === 3) node.name = reader.text(field);
    else if (field.number === 4) node.opType = reader.text(field);
    else if (field.number === 5) attributes.push(decodeAttribute(reader, field.start, field.end));
    else if (field.number === 6) node.docString = reader.text(field);
    else if (field.number === 7) node.domain = reader.text(field);
    else preserved.push(reader.wholeField(field));
  }
  Object.assign(node, { inputs, outputs, attributes });
  if (preserved.length) node.preserved = preserved;
  return node;
}

function decodeGraph(reader: ProtobufReader, start: number, end: number): OnnxGraph {
  const graph: Mutable<OnnxGraph> = { name: '', nodes: [], initializers: [], inputs: [], outputs: [], valueInfo: [] };
  const nodes: OnnxNode[] = [];
  const initializers: OnnxTensor[] = [];
  const inputs: OnnxGraphValue[] = [];
  const outputs: OnnxGraphValue[] = [];
  const valueInfo: OnnxGraphValue[] = [];
  const preserved: Uint8Array[] = [];
  for (const field of reader.fields(start, end)) {
    if (field.wire !== LENGTH_DELIMITED) preserved.push(reader.wholeField(field));
    else if (field.number === 1) nodes.push(decodeNode(reader, field.start, field.end));
    else if (field.number === 2) graph.name = reader.text(field);
    else if (field.number === 5) initializers.push(decodeTensor(reader, field.start, field.end));
    else if (field.number === 10) graph.docString = reader.text(field);
    else if (field.number === 11) inputs.push(decodeValueInfo(reader, field.start, field.end));
    else if (field.number === 12) outputs.push(decodeValueInfo(reader, field.start, field.end));
    else if (field.number === 13) valueInfo.push(decodeValueInfo(reader, field.start, field.end));
    else preserved.push(reader.wholeField(field));
  }
  Object.assign(graph, { nodes, initializers, inputs, outputs, valueInfo });
  if (preserved.length) graph.preserved = preserved;
  return graph;
}

/**
 * Decodes a `ModelProto` from any {@link ByteSource}. Throws a `RangeError` on malformed data.
 *
 * @example
 * ```ts
 * const model = decodeOnnxModelFrom(new FileSource('unet/model.onnx'));
 * ```
 */
export function decodeOnnxModelFrom(source: ByteSource): OnnxModel {
  const reader = new ProtobufReader(source);
  const model: Mutable<Partial<OnnxModel>> = {};
  const opsetImports: OnnxOpsetImport[] = [];
  const metadataProps: OnnxKeyValue[] = [];
  const preserved: Uint8Array[] = [];
  let graph: OnnxGraph | undefined;
  for (const field of reader.fields(0, source.size)) {
    const delimited = field.wire === LENGTH_DELIMITED;
    if (field.number === 1 && field.wire === VARINT) model.irVersion = reader.varint(field.start, field.end)[0];
    else if (field.number === 2 && delimited) model.producerName = reader.text(field);
    else if (field.number === 3 && delimited) model.producerVersion = reader.text(field);
    else if (field.number === 4 && delimited) model.domain = reader.text(field);
    else if (field.number === 5 && field.wire === VARINT) model.modelVersion = reader.int64(field.start, field.end);
    else if (field.number === 6 && delimited) model.docString = reader.text(field);
    else if (field.number === 7 && delimited) graph = decodeGraph(reader, field.start, field.end);
    else if (field.number === 8 && delimited) {
      let domain = '';
      let version = 0;
      for (const part of reader.fields(field.start, field.end)) {
        if (part.number === 1 && part.wire === LENGTH_DELIMITED) domain = reader.text(part);
        else if (part.number === 2 && part.wire === VARINT) version = reader.varint(part.start, part.end)[0];
      }
      opsetImports.push({ domain, version });
    } else if (field.number === 14 && delimited) metadataProps.push(keyValue(reader, field));
    else preserved.push(reader.wholeField(field));
  }
  if (!graph) throw new RangeError('not an ONNX model: no graph (ModelProto field 7)');
  return {
    irVersion: model.irVersion ?? 0,
    opsetImports,
    ...model,
    ...(metadataProps.length ? { metadataProps } : {}),
    graph,
    ...(preserved.length ? { preserved } : {}),
  };
}

/**
 * Decodes an ONNX model held in memory; tensor payloads stay views of `bytes`.
 *
 * @example
 * ```ts
 * const model = decodeOnnxModel(await fs.readFile('vae_decoder/model.onnx'));
 * model.graph.nodes.filter((node) => node.opType === 'Resize').length; // 3 upsampling stages
 * ```
 */
export function decodeOnnxModel(bytes: Uint8Array): OnnxModel {
  return decodeOnnxModelFrom(memorySource(bytes));
}

/**
 * Reads an ONNX file's structure: graph, nodes, attributes, initializers' names, types, dims and
 * where their values lie, without reading the values (payloads become lazy {@link ByteRange}s of
 * the file) and without opening external data files. Throws a {@link ModelLoadError} naming the
 * file when it cannot be read or is not an ONNX model.
 *
 * @example
 * ```ts
 * const model = readOnnxModelFile('unet/model.onnx'); // a 3.4 GB export: reads only its structure
 * model.graph.initializers.find((t) => t.name === 'conv_in.weight')?.dims; // [320, 4, 3, 3]
 * ```
 */
export function readOnnxModelFile(file: string): OnnxModel {
  let source: FileSource;
  try {
    source = new FileSource(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'the ONNX model file does not exist' : code === 'EISDIR' ? 'it is a directory, not an ONNX model file: pass the path of model.onnx' : 'the ONNX model file cannot be read';
    throw new ModelLoadError({ path: file, reason, cause: error });
  }
  try {
    return decodeOnnxModelFrom(source);
  } catch (error) {
    throw new ModelLoadError({ path: file, reason: `it is not a valid ONNX model (${(error as Error).message}): re-export the model`, cause: error });
  } finally {
    source.close();
  }
}
