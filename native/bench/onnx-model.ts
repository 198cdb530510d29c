/**
 * Builds the ONNX graphs the attention benchmark compares against, without Python, with
 * `@latentkit/onnx`'s model writer (`encodeOnnxModel`).
 */
import { ByteRange, OnnxAttributeType, OnnxDataType, encodeOnnxModel, type OnnxAttribute, type OnnxTensor } from '@latentkit/onnx';

type AttributeValue = { float: number } | { int: number } | { ints: number[] };

function attribute(name: string, value: AttributeValue): OnnxAttribute {
  if ('float' in value) return { name, type: OnnxAttributeType.FLOAT, f: value.float };
  if ('int' in value) return { name, type: OnnxAttributeType.INT, i: value.int };
  return { name, type: OnnxAttributeType.INTS, ints: value.ints };
}

interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  domain?: string;
  attributes?: Record<string, AttributeValue>;
}

/** A TensorProto initializer with little-endian raw_data. */
function initializer(name: string, dims: number[], dataType: number, raw: Uint8Array): OnnxTensor {
  return { name, dims, dataType, data: { field: 'raw_data', bytes: ByteRange.of(raw) } };
}

function int64Initializer(name: string, values: number[]): OnnxTensor {
  return initializer(name, [values.length], OnnxDataType.INT64, new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer));
}

function floatScalarInitializer(name: string, value: number): OnnxTensor {
  return initializer(name, [], OnnxDataType.FLOAT, new Uint8Array(Float32Array.of(value).buffer));
}

interface GraphSpec {
  nodes: NodeSpec[];
  inputs: [string, number[]][];
  outputs: [string, number[]][];
  int64Initializers?: Record<string, number[]>;
  floatScalars?: Record<string, number>;
  /** Opset imports: '' (ai.onnx) and optionally 'com.microsoft'. */
  opsets: Record<string, number>;
}

function model(spec: GraphSpec): Uint8Array {
  const value = ([name, shape]: [string, number[]]) => ({ name, tensorType: { elemType: OnnxDataType.FLOAT, shape } });
  return encodeOnnxModel({
    irVersion: 8,
    producerName: 'latentkit-bench',
    opsetImports: Object.entries(spec.opsets).map(([domain, version]) => ({ domain, version })),
    graph: {
      name: 'latentkit_bench',
      nodes: spec.nodes.map((n, i) => ({
        name: `${n.op}_${i}`,
        opType: n.op,
        domain: n.domain ?? '',
        inputs: n.inputs,
        outputs: n.outputs,
        attributes: Object.entries(n.attributes ?? {}).map(([name, v]) => attribute(name, v)),
      })),
      initializers: [
        ...Object.entries(spec.int64Initializers ?? {}).map(([name, values]) => int64Initializer(name, values)),
        ...Object.entries(spec.floatScalars ?? {}).map(([name, v]) => floatScalarInitializer(name, v)),
      ],
      inputs: spec.inputs.map(value),
      outputs: spec.outputs.map(value),
      valueInfo: [],
    },
  });
}

/** An attention problem's shape: Q [batch, queryLength, heads·headDim], K/V [batch, keyLength, heads·headDim]. */
export interface AttentionDims {
  batch: number;
  heads: number;
  headDim: number;
  queryLength: number;
  keyLength: number;
}

/** ONNX Runtime's fused CPU kernel: com.microsoft MultiHeadAttention (scale defaults to 1/√d). */
export function multiHeadAttentionModel(s: AttentionDims): Uint8Array {
  const hidden = s.heads * s.headDim;
  return model({
    nodes: [{ op: 'MultiHeadAttention', domain: 'com.microsoft', inputs: ['query', 'key', 'value'], outputs: ['output'], attributes: { num_heads: { int: s.heads } } }],
    inputs: [['query', [s.batch, s.queryLength, hidden]], ['key', [s.batch, s.keyLength, hidden]], ['value', [s.batch, s.keyLength, hidden]]],
    outputs: [['output', [s.batch, s.queryLength, hidden]]],
    opsets: { '': 17, 'com.microsoft': 1 },
  });
}

/**
 * The graph a PyTorch export of diffusers' attention processor contains: split heads
 * (Reshape + Transpose), MatMul(Q, Kᵀ), Mul(scale), Softmax, MatMul(·, V), merge heads. It
 * materialises the [batch, heads, Nq, Nk] score matrix, twice (scores and probabilities).
 */
export function plainAttentionModel(s: AttentionDims): Uint8Array {
  const hidden = s.heads * s.headDim;
  return model({
    nodes: [
      { op: 'Reshape', inputs: ['query', 'split_q'], outputs: ['q4'] },
      { op: 'Transpose', inputs: ['q4'], outputs: ['q_heads'], attributes: { perm: { ints: [0, 2, 1, 3] } } },
      { op: 'Reshape', inputs: ['key', 'split_kv'], outputs: ['k4'] },
      { op: 'Transpose', inputs: ['k4'], outputs: ['k_heads_t'], attributes: { perm: { ints: [0, 2, 3, 1] } } },
      { op: 'Reshape', inputs: ['value', 'split_kv'], outputs: ['v4'] },
      { op: 'Transpose', inputs: ['v4'], outputs: ['v_heads'], attributes: { perm: { ints: [0, 2, 1, 3] } } },
      { op: 'MatMul', inputs: ['q_heads', 'k_heads_t'], outputs: ['scores'] },
      { op: 'Mul', inputs: ['scores', 'scale'], outputs: ['scaled'] },
      { op: 'Softmax', inputs: ['scaled'], outputs: ['probabilities'], attributes: { axis: { int: -1 } } },
      { op: 'MatMul', inputs: ['probabilities', 'v_heads'], outputs: ['context'] },
      { op: 'Transpose', inputs: ['context'], outputs: ['context_t'], attributes: { perm: { ints: [0, 2, 1, 3] } } },
      { op: 'Reshape', inputs: ['context_t', 'merge'], outputs: ['output'] },
    ],
    inputs: [['query', [s.batch, s.queryLength, hidden]], ['key', [s.batch, s.keyLength, hidden]], ['value', [s.batch, s.keyLength, hidden]]],
    outputs: [['output', [s.batch, s.queryLength, hidden]]],
    int64Initializers: {
      split_q: [s.batch, s.queryLength, s.heads, s.headDim],
      split_kv: [s.batch, s.keyLength, s.heads, s.headDim],
      merge: [s.batch, s.queryLength, hidden],
    },
    floatScalars: { scale: 1 / Math.sqrt(s.headDim) },
    opsets: { '': 17 },
  });
}

/** [n, n] × [n, n]: this machine's matrix-multiply ceiling as onnxruntime (MLAS) reaches it. */
export function matMulModel(n: number): Uint8Array {
  return model({
    nodes: [{ op: 'MatMul', inputs: ['a', 'b'], outputs: ['c'] }],
    inputs: [['a', [n, n]], ['b', [n, n]]],
    outputs: [['c', [n, n]]],
    opsets: { '': 17 },
  });
}
