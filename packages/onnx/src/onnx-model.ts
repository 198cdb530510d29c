/**
 * ONNX's protobuf messages (onnx/onnx.proto, IR version 10) as plain typed objects: what
 * {@link decodeOnnxModel} / {@link readOnnxModelFile} return and {@link encodeOnnxModel} /
 * {@link writeOnnxModelFile} take. Tensor payloads stay where they lie ({@link ByteRange}), and
 * fields this module does not decode (training info, functions, sparse initializers, …) travel
 * as their encoded bytes in `preserved`, so a decoded model encodes back to an equivalent one.
 * Field names follow onnx.proto in camelCase.
 */
import type { ByteRange } from './byte-source';

/** Encoded fields (keys included) that the decoder does not interpret; written back unchanged. */
export type PreservedFields = readonly Uint8Array[];

/** `TensorProto.DataType` codes. */
export const OnnxDataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  BFLOAT16: 16,
} as const;

/** `AttributeProto.AttributeType` codes. */
export const OnnxAttributeType = {
  UNDEFINED: 0,
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
  SPARSE_TENSOR: 11,
  SPARSE_TENSORS: 12,
  TYPE_PROTO: 13,
  TYPE_PROTOS: 14,
} as const;

/** An int64 value: a number when it is a safe integer, else a bigint (e.g. Slice's INT64_MAX). */
export type Int64 = number | bigint;

/** A `StringStringEntryProto` (external data entries, metadata). */
export interface OnnxKeyValue {
  readonly key: string;
  readonly value: string;
}

/** Which `TensorProto` field holds a tensor's values in the file. */
export type OnnxTensorDataField = 'raw_data' | 'float_data' | 'int32_data' | 'int64_data' | 'double_data' | 'uint64_data';

/** A `TensorProto`: an initializer, or the value of a tensor attribute (Constant). */
export interface OnnxTensor {
  readonly name: string;
  readonly dataType: number;
  readonly dims: readonly Int64[];
  /**
   * The values stored in the model file: which field, and the bytes as they lie there (little-endian
   * for `raw_data`, packed varints / fixed-width values for the typed fields). Never read by the
   * decoder; `undefined` for external data or an empty tensor.
   */
  readonly data?: { readonly field: OnnxTensorDataField; readonly bytes: ByteRange };
  /** `external_data` entries (`location`, `offset`, `length`, `checksum`) when `dataLocation` is 1. */
  readonly externalData?: readonly OnnxKeyValue[];
  /** 0 DEFAULT (inside the model), 1 EXTERNAL. */
  readonly dataLocation?: number;
  readonly docString?: string;
  readonly preserved?: PreservedFields;
}

/** A tensor type: element type and shape (dimensions: number fixed, string symbolic, null unknown). */
export interface OnnxTensorType {
  readonly elemType: number;
  /** Absent when the graph declares no shape (any rank). */
  readonly shape?: readonly (number | string | null)[];
}

/** A `ValueInfoProto`: a graph input, output or intermediate value. */
export interface OnnxGraphValue {
  readonly name: string;
  /** Set for tensor-typed values. Other kinds (sequence, map, optional) keep their `TypeProto` in `typePreserved`. */
  readonly tensorType?: OnnxTensorType;
  /** The encoded `TypeProto` of a value that is not a plain tensor. */
  readonly typePreserved?: Uint8Array;
  readonly docString?: string;
  readonly preserved?: PreservedFields;
}

/** An `AttributeProto`. Exactly the value field its `type` names is set. */
export interface OnnxAttribute {
  readonly name: string;
  /** {@link OnnxAttributeType}. */
  readonly type: number;
  readonly f?: number;
  readonly i?: Int64;
  /** Raw bytes (ONNX strings are bytes; decode with TextDecoder for text). */
  readonly s?: Uint8Array;
  readonly t?: OnnxTensor;
  readonly g?: OnnxGraph;
  readonly floats?: readonly number[];
  readonly ints?: readonly Int64[];
  readonly strings?: readonly Uint8Array[];
  readonly tensors?: readonly OnnxTensor[];
  readonly graphs?: readonly OnnxGraph[];
  readonly refAttrName?: string;
  readonly docString?: string;
  readonly preserved?: PreservedFields;
}

/** A `NodeProto`: one operator. */
export interface OnnxNode {
  readonly name: string;
  readonly opType: string;
  /** `''` for the default ai.onnx domain, e.g. `'com.microsoft'` for contrib operators. */
  readonly domain: string;
  /** Input value names in order (`''` marks an omitted optional input). */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: readonly OnnxAttribute[];
  readonly docString?: string;
  readonly preserved?: PreservedFields;
}

/** A `GraphProto`. */
export interface OnnxGraph {
  readonly name: string;
  /** In file order, which ONNX requires to be topological. */
  readonly nodes: readonly OnnxNode[];
  readonly initializers: readonly OnnxTensor[];
  /** As declared; exporters for IR < 4 also list initializers here. */
  readonly inputs: readonly OnnxGraphValue[];
  readonly outputs: readonly OnnxGraphValue[];
  readonly valueInfo: readonly OnnxGraphValue[];
  readonly docString?: string;
  readonly preserved?: PreservedFields;
}

/** An `OperatorSetIdProto`. */
export interface OnnxOpsetImport {
  readonly domain: string;
  readonly version: number;
}

/** A `ModelProto`: a whole `.onnx` file. */
export interface OnnxModel {
  readonly irVersion: number;
  readonly opsetImports: readonly OnnxOpsetImport[];
  readonly producerName?: string;
  readonly producerVersion?: string;
  readonly domain?: string;
  readonly modelVersion?: Int64;
  readonly docString?: string;
  readonly metadataProps?: readonly OnnxKeyValue[];
  readonly graph: OnnxGraph;
  readonly preserved?: PreservedFields;
}

/**
 * An initializer's external-data reference (`location` relative to the model file, `offset` and
 * `length` in bytes), or undefined when its values are stored inside the model.
 *
 * @example
 * ```ts
 * externalDataOf(tensor); // { location: 'weights.pb', offset: 0, length: 3276800 }
 * ```
 */
export function externalDataOf(tensor: OnnxTensor): { location: string; offset: number; length?: number } | undefined {
  if (tensor.dataLocation !== 1 || !tensor.externalData) return undefined;
  const entry = (key: string) => tensor.externalData!.find((e) => e.key === key)?.value;
  const location = entry('location');
  if (location === undefined) return undefined;
  const length = entry('length');
  return { location, offset: Number(entry('offset') ?? 0), ...(length !== undefined ? { length: Number(length) } : {}) };
}

/**
 * The number of elements of a tensor with these dims (1 for a scalar).
 *
 * @example
 * ```ts
 * elementCount([320, 4, 3, 3]); // 11520
 * ```
 */
export function elementCount(dims: readonly Int64[]): number {
  return dims.reduce<number>((product, dim) => product * Number(dim), 1);
}
