/**
 * The view of an ONNX graph that the attention finder and the partitioner work on, over
 * `@latentkit/onnx`'s ModelProto reader and writer: nodes with decoded attributes and their
 * positions, initializers with the small constant values the finder needs (scales, reshape
 * shapes), and graph input/output element types. Segment models are encoded from the original
 * node and initializer objects, so attributes, weights and external-data references are written
 * back exactly as exported (payloads in files are streamed, never held twice).
 */
import {
  OnnxAttributeType,
  OnnxDataType,
  decodeOnnxModel,
  elementCount,
  encodeOnnxModel,
  externalDataOf,
  float16ToFloat32,
  readOnnxModelFile,
  type OnnxModel,
  type OnnxNode,
  type OnnxOpsetImport,
  type OnnxTensor,
} from '@latentkit/onnx';

/** One node of the graph, with its position and the decoded node it came from. */
export interface GraphNode {
  readonly index: number;
  readonly name: string;
  readonly opType: string;
  readonly domain: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: ReadonlyMap<string, AttributeValue>;
  readonly source: OnnxNode;
}

/** A decoded attribute: numbers, number lists, strings or a tensor. */
export type AttributeValue = number | readonly number[] | string | DecodedTensor;

/** A tensor's header, with its values when it is small and inline. */
export interface DecodedTensor {
  readonly name: string;
  readonly dims: readonly number[];
  /** ONNX TensorProto.DataType: 1 float, 6 int32, 7 int64, 10 float16, 11 double. */
  readonly dataType: number;
  /** Values of an inline tensor of at most {@link SMALL_TENSOR} elements (float, int32, int64, double). */
  readonly values?: readonly number[];
  readonly external: boolean;
  /** The external data file (relative to the model file), when `external`. */
  readonly location?: string;
}

/** Tensors up to this many elements have their values decoded (scalars and shape vectors). */
const SMALL_TENSOR = 16;

/** A graph input or output with its element type (0 when undeclared). */
export interface GraphValue {
  readonly name: string;
  readonly elemType: number;
  /** Declared dimensions: numbers, symbolic names, or null where unknown; undefined when undeclared. */
  readonly shape?: readonly (number | string | null)[];
}

/** A decoded model as the finder and the partitioner see it. */
export interface DecodedModel {
  readonly irVersion: number;
  readonly opsetImports: readonly OnnxOpsetImport[];
  readonly nodes: readonly GraphNode[];
  readonly initializers: ReadonlyMap<string, { readonly source: OnnxTensor; readonly tensor: DecodedTensor }>;
  readonly inputs: readonly GraphValue[];
  readonly outputs: readonly GraphValue[];
  /** Declared element types of intermediate values (GraphProto.value_info), by name. */
  readonly valueTypes: ReadonlyMap<string, number>;
}

function signedVarints(bytes: Uint8Array): number[] {
  const out: number[] = [];
  let value = 0n;
  let shift = 0n;
  for (const byte of bytes) {
    value |= BigInt(byte & 0x7f) << shift;
    shift += 7n;
    if ((byte & 0x80) === 0) {
      out.push(Number(BigInt.asIntN(64, value)));
      value = 0n;
      shift = 0n;
    }
  }
  return out;
}

function tensorValues(tensor: OnnxTensor, count: number): number[] | undefined {
  const data = tensor.data;
  if (data === undefined) return count === 0 ? [] : undefined;
  const bytes = data.bytes.read();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = tensor.dataType;
  // float16 (graphs exported in half precision): raw little-endian halves, or one half per int32_data entry.
  if (type === OnnxDataType.FLOAT16) {
    if (data.field === 'raw_data') {
      if (bytes.length !== count * 2) return undefined;
      return Array.from(float16ToFloat32(Uint16Array.from({ length: count }, (_, i) => view.getUint16(i * 2, true))));
    }
    if (data.field === 'int32_data') return Array.from(float16ToFloat32(Uint16Array.from(signedVarints(bytes))));
    return undefined;
  }
  if (data.field === 'raw_data') {
    const width = type === OnnxDataType.INT64 || type === OnnxDataType.DOUBLE ? 8 : type === OnnxDataType.FLOAT || type === OnnxDataType.INT32 ? 4 : 0;
    if (width === 0 || bytes.length !== count * width) return undefined;
    return Array.from({ length: count }, (_, i) =>
      type === OnnxDataType.FLOAT ? view.getFloat32(i * 4, true)
        : type === OnnxDataType.INT32 ? view.getInt32(i * 4, true)
          : type === OnnxDataType.INT64 ? Number(view.getBigInt64(i * 8, true))
            : view.getFloat64(i * 8, true));
  }
  if (data.field === 'float_data') return Array.from({ length: bytes.length / 4 }, (_, i) => view.getFloat32(i * 4, true));
  if (data.field === 'double_data') return Array.from({ length: bytes.length / 8 }, (_, i) => view.getFloat64(i * 8, true));
  if (data.field === 'int64_data' || data.field === 'int32_data') return signedVarints(bytes);
  return undefined;
}

/** A tensor's header and, when small and inline, its values. */
export function decodeTensor(tensor: OnnxTensor): DecodedTensor {
  const dims = tensor.dims.map(Number);
  const external = externalDataOf(tensor);
  const count = elementCount(dims);
  const values = external === undefined && count <= SMALL_TENSOR ? tensorValues(tensor, count) : undefined;
  return { name: tensor.name, dims, dataType: tensor.dataType, values, external: external !== undefined, location: external?.location };
}

const utf8 = new TextDecoder();

function attributesOf(node: OnnxNode): Map<string, AttributeValue> {
  const out = new Map<string, AttributeValue>();
  for (const attribute of node.attributes) {
    switch (attribute.type) {
      case OnnxAttributeType.FLOAT: out.set(attribute.name, attribute.f ?? 0); break;
      case OnnxAttributeType.INT: out.set(attribute.name, Number(attribute.i ?? 0)); break;
      case OnnxAttributeType.STRING: out.set(attribute.name, utf8.decode(attribute.s ?? new Uint8Array())); break;
      case OnnxAttributeType.TENSOR: if (attribute.t) out.set(attribute.name, decodeTensor(attribute.t)); break;
      case OnnxAttributeType.FLOATS: out.set(attribute.name, attribute.floats ?? []); break;
      case OnnxAttributeType.INTS: out.set(attribute.name, (attribute.ints ?? []).map(Number)); break;
      default: break;
    }
  }
  return out;
}

/** The finder's view of a decoded {@link OnnxModel}. */
export function viewModel(model: OnnxModel): DecodedModel {
  const { graph } = model;
  const nodes: GraphNode[] = graph.nodes.map((node, index) => ({
    index,
    name: node.name,
    opType: node.opType,
    domain: node.domain === 'ai.onnx' ? '' : node.domain,
    inputs: node.inputs,
    outputs: node.outputs,
    attributes: attributesOf(node),
    source: node,
  }));
  const initializers = new Map(graph.initializers.map((source) => [source.name, { source, tensor: decodeTensor(source) }]));
  const valueOf = (value: { name: string; tensorType?: { elemType: number; shape?: readonly (number | string | null)[] } }): GraphValue => ({
    name: value.name,
    elemType: value.tensorType?.elemType ?? 0,
    shape: value.tensorType?.shape,
  });
  const valueTypes = new Map<string, number>();
  for (const info of graph.valueInfo) if (info.tensorType?.elemType) valueTypes.set(info.name, info.tensorType.elemType);
  return {
    irVersion: model.irVersion,
    opsetImports: model.opsetImports,
    nodes,
    initializers,
    inputs: graph.inputs.map(valueOf),
    outputs: graph.outputs.map(valueOf),
    valueTypes,
  };
}

/**
 * Decodes a model held in memory.
 *
 * @example
 * ```ts
 * const model = decodeModel(new Uint8Array(await fs.readFile('unet/model.onnx')));
 * model.nodes.filter((n) => n.opType === 'Softmax').length; // 32 in SD 1.5
 * ```
 */
export function decodeModel(bytes: Uint8Array): DecodedModel {
  return viewModel(decodeOnnxModel(bytes));
}

/** Decodes a model file without reading its weights (payloads stay lazy ranges of the file). */
export function readModelFile(file: string): DecodedModel {
  return viewModel(readOnnxModelFile(file));
}

/** What a segment model holds: original nodes and initializers, new inputs and outputs. */
export interface SegmentGraph {
  readonly name: string;
  readonly nodes: readonly GraphNode[];
  readonly initializers: readonly OnnxTensor[];
  readonly inputs: readonly GraphValue[];
  readonly outputs: readonly GraphValue[];
}

/**
 * Encodes a ModelProto for a segment, with the source model's IR version and opsets.
 *
 * @example
 * ```ts
 * const bytes = encodeSegmentModel(model, { name: 'segment 0', nodes, initializers, inputs, outputs });
 * ```
 */
export function encodeSegmentModel(model: Pick<DecodedModel, 'irVersion' | 'opsetImports'>, segment: SegmentGraph): Uint8Array {
  const value = ({ name, elemType }: GraphValue) => ({ name, tensorType: { elemType } }); // shapes left to onnxruntime's inference
  return encodeOnnxModel({
    irVersion: model.irVersion,
    opsetImports: model.opsetImports,
    producerName: 'latentkit-attention-split',
    graph: {
      name: segment.name,
      nodes: segment.nodes.map((node) => node.source),
      initializers: segment.initializers,
      inputs: segment.inputs.map(value),
      outputs: segment.outputs.map(value),
      valueInfo: [],
    },
  });
}
