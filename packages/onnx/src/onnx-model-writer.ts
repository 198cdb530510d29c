/**
 * Encodes {@link OnnxModel} objects back into ONNX protobuf bytes. Tensor payloads are written
 * from their {@link ByteRange}s (views of memory, or ranges of the file they were read from, read
 * piece by piece), external-data references are written as references, and `preserved` fields go
 * back unchanged, so `encodeOnnxModel(decodeOnnxModel(bytes))` is an equivalent model.
 */
import { closeSync, openSync, realpathSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError } from '@latentkit/core';
import type { OnnxAttribute, OnnxGraph, OnnxKeyValue, OnnxModel, OnnxNode, OnnxTensor, OnnxGraphValue } from './onnx-model';
import { ProtobufWriter } from './protobuf-writer';

const TENSOR_DATA_FIELD_NUMBERS = { float_data: 4, int32_data: 5, int64_data: 7, raw_data: 9, double_data: 10, uint64_data: 11 } as const;

function preserve(writer: ProtobufWriter, preserved: readonly Uint8Array[] | undefined): ProtobufWriter {
  for (const field of preserved ?? []) writer.raw(field);
  return writer;
}

function keyValue(entry: OnnxKeyValue): ProtobufWriter {
  return new ProtobufWriter().string(1, entry.key).string(2, entry.value);
}

/**
 * Encodes a `TensorProto`.
 *
 * @example
 * ```ts
 * encodeTensor({ name: 'scale', dataType: OnnxDataType.FLOAT, dims: [], data: { field: 'raw_data', bytes: ByteRange.of(new Uint8Array(4)) } });
 * ```
 */
export function encodeTensor(tensor: OnnxTensor): ProtobufWriter {
  // Field-number order, as onnx's own (C++) serializer writes: dims, data_type, typed data, name, raw_data, …
  const writer = new ProtobufWriter().repeatedVarints(1, tensor.dims);
  if (tensor.dataType) writer.varint(2, tensor.dataType);
  const dataField = tensor.data ? TENSOR_DATA_FIELD_NUMBERS[tensor.data.field] : 0;
  if (tensor.data && dataField < 8) writer.bytes(dataField, tensor.data.bytes);
  if (tensor.name) writer.string(8, tensor.name);
  if (tensor.data && dataField > 8) writer.bytes(dataField, tensor.data.bytes);
  if (tensor.docString) writer.string(12, tensor.docString);
  for (const entry of tensor.externalData ?? []) writer.message(13, keyValue(entry));
  if (tensor.dataLocation) writer.varint(14, tensor.dataLocation);
  return preserve(writer, tensor.preserved);
}

/** Encodes a `ValueInfoProto`. */
export function encodeValueInfo(info: OnnxGraphValue): ProtobufWriter {
  const writer = new ProtobufWriter().string(1, info.name);
  if (info.typePreserved) writer.bytes(2, info.typePreserved);
  else if (info.tensorType) {
    const tensorType = new ProtobufWriter().varint(1, info.tensorType.elemType);
    if (info.tensorType.shape) {
      const shape = new ProtobufWriter();
      for (const dim of info.tensorType.shape) {
        const dimension = new ProtobufWriter();
        if (typeof dim === 'number') dimension.varint(1, dim);
        else if (typeof dim === 'string') dimension.string(2, dim);
        shape.message(1, dimension);
      }
      tensorType.message(2, shape);
    }
    writer.message(2, new ProtobufWriter().message(1, tensorType));
  }
  if (info.docString) writer.string(3, info.docString);
  return preserve(writer, info.preserved);
}

function encodeAttribute(attribute: OnnxAttribute): ProtobufWriter {
  const writer = new ProtobufWriter().string(1, attribute.name);
  if (attribute.f !== undefined) writer.float(2, attribute.f);
  if (attribute.i !== undefined) writer.varint(3, attribute.i);
  if (attribute.s !== undefined) writer.bytes(4, attribute.s);
  if (attribute.t) writer.message(5, encodeTensor(attribute.t));
  if (attribute.g) writer.message(6, encodeGraph(attribute.g));
  if (attribute.floats) writer.repeatedFloats(7, attribute.floats);
  if (attribute.ints) writer.repeatedVarints(8, attribute.ints);
  for (const s of attribute.strings ?? []) writer.bytes(9, s);
  for (const t of attribute.tensors ?? []) writer.message(10, encodeTensor(t));
  for (const g of attribute.graphs ?? []) writer.message(11, encodeGraph(g));
  if (attribute.docString) writer.string(13, attribute.docString);
  if (attribute.type) writer.varint(20, attribute.type);
  if (attribute.refAttrName) writer.string(21, attribute.refAttrName);
  return preserve(writer, attribute.preserved);
}

/** Encodes a `NodeProto`. */
export function encodeNode(node: OnnxNode): ProtobufWriter {
  const writer = new ProtobufWriter();
  for (const input of node.inputs) writer.string(1, input);
  for (const output of node.outputs) writer.string(2, output);
  if (node.name) writer.string(3, node.name);
  if (node.opType) writer.string(4, node.opType);
  for (const attribute of node.attributes) writer.message(5, encodeAttribute(attribute));
  if (node.docString) writer.string(6, node.docString);
  if (node.domain) writer.string(7, node.domain);
  return preserve(writer, node.preserved);
}

/** Encodes a `GraphProto`. */
export function encodeGraph(graph: OnnxGraph): ProtobufWriter {
  const writer = new ProtobufWriter();
  for (const node of graph.nodes) writer.message(1, encodeNode(node));
  if (graph.name) writer.string(2, graph.name);
  for (const tensor of graph.initializers) writer.message(5, encodeTensor(tensor));
  if (graph.docString) writer.string(10, graph.docString);
  for (const info of graph.inputs) writer.message(11, encodeValueInfo(info));
  for (const info of graph.outputs) writer.message(12, encodeValueInfo(info));
  for (const info of graph.valueInfo) writer.message(13, encodeValueInfo(info));
  return preserve(writer, graph.preserved);
}

function encodeModel(model: OnnxModel): ProtobufWriter {
  const writer = new ProtobufWriter().varint(1, model.irVersion);
  if (model.producerName) writer.string(2, model.producerName);
  if (model.producerVersion) writer.string(3, model.producerVersion);
  if (model.domain) writer.string(4, model.domain);
  if (model.modelVersion) writer.varint(5, model.modelVersion);
  if (model.docString) writer.string(6, model.docString);
  writer.message(7, encodeGraph(model.graph));
  for (const opset of model.opsetImports) {
    const entry = new ProtobufWriter();
    if (opset.domain) entry.string(1, opset.domain);
    writer.message(8, entry.varint(2, opset.version));
  }
  for (const entry of model.metadataProps ?? []) writer.message(14, keyValue(entry));
  return preserve(writer, model.preserved);
}

/**
 * Encodes a model into one buffer (reading any payloads that lie in files), e.g. to open an edited
 * model with `openOnnxSession(file, options, bytes)`.
 *
 * @example
 * ```ts
 * const model = readOnnxModelFile('vae_encoder/model.onnx');
 * const bytes = encodeOnnxModel({ ...model, graph: { ...model.graph, outputs: [...model.graph.outputs, { name: 'mean' }] } });
 * ```
 */
export function encodeOnnxModel(model: OnnxModel): Uint8Array {
  return encodeModel(model).toBytes();
}

/**
 * Writes a model to `file`, streaming payloads from where they lie (a 2 GB model is never held in
 * memory twice). Refuses to overwrite a file the model's payloads are read from. External-data
 * references are written as they are: their `location`s are relative to the new file's folder.
 *
 * @example
 * ```ts
 * writeOnnxModelFile('unet-edited/model.onnx', { ...model, graph: rewritten });
 * ```
 */
export function writeOnnxModelFile(file: string, model: OnnxModel): void {
  const writer = encodeModel(model);
  const target = path.resolve(file);
  const sources = new Set<string>();
  const collect = (graph: OnnxGraph): void => {
    const tensors = [...graph.initializers, ...graph.nodes.flatMap((n) => n.attributes.flatMap((a) => [...(a.t ? [a.t] : []), ...(a.tensors ?? [])]))];
    for (const tensor of tensors) if (tensor.data?.bytes.file) sources.add(safeRealpath(tensor.data.bytes.file));
    for (const node of graph.nodes) for (const a of node.attributes) for (const g of [...(a.g ? [a.g] : []), ...(a.graphs ?? [])]) collect(g);
  };
  collect(model.graph);
  if (sources.has(safeRealpath(target))) {
    throw new InvalidArgumentError({
      name: 'file',
      expected: 'a path other than the file the model was read from (its weights are read from there while writing)',
      actual: file,
    });
  }
  const fd = openSync(target, 'w');
  try {
    writer.forEachPiece((piece) => {
      for (let done = 0; done < piece.length; ) done += writeSync(fd, piece, done, piece.length - done);
    });
  } finally {
    closeSync(fd);
  }
}

function safeRealpath(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return path.resolve(file);
  }
}

/**
 * Writes `model` as `file` plus one external data file `dataFile` (a name beside it, as
 * `weights.pb` or `model.onnx_data`): every initializer whose `raw_data` holds at least
 * `minBytes` bytes moves there (offsets aligned to 4 KiB, as onnx's own saver does with
 * `align`), and the model keeps references. Initializers already external stay as they are.
 *
 * @example
 * ```ts
 * writeOnnxModelWithExternalData('out/model.onnx', model, 'weights.pb'); // out/model.onnx + out/weights.pb
 * ```
 */
export function writeOnnxModelWithExternalData(file: string, model: OnnxModel, dataFile: string, minBytes = 1024): void {
  if (typeof dataFile !== 'string' || dataFile.length === 0 || path.isAbsolute(dataFile) || dataFile.includes('..')) {
    throw new InvalidArgumentError({ name: 'dataFile', expected: "a file name relative to the model's folder, such as 'weights.pb'", actual: dataFile });
  }
  const dataPath = path.join(path.dirname(path.resolve(file)), dataFile);
  const fd = openSync(dataPath, 'w');
  let offset = 0;
  const initializers: OnnxTensor[] = [];
  try {
    for (const tensor of model.graph.initializers) {
      if (tensor.data?.field !== 'raw_data' || tensor.data.bytes.length < minBytes) {
        initializers.push(tensor);
        continue;
      }
      const aligned = Math.ceil(offset / 4096) * 4096;
      if (aligned > offset) writeSync(fd, new Uint8Array(aligned - offset), 0, aligned - offset, offset);
      offset = aligned;
      const start = offset;
      tensor.data.bytes.forEachPiece((piece) => {
        for (let done = 0; done < piece.length; ) done += writeSync(fd, piece, done, piece.length - done, offset + done);
        offset += piece.length;
      });
      const { data: _moved, ...rest } = tensor;
      void _moved;
      initializers.push({
        ...rest,
        externalData: [
          { key: 'location', value: dataFile },
          { key: 'offset', value: String(start) },
          { key: 'length', value: String(offset - start) },
        ],
        dataLocation: 1,
      });
    }
  } finally {
    closeSync(fd);
  }
  writeOnnxModelFile(file, { ...model, graph: { ...model.graph, initializers } });
}
