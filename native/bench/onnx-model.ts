/**
 * Builds the ONNX graphs the attention benchmark compares against, without Python: a minimal
 * protobuf encoder for the handful of onnx.proto messages needed (ModelProto, GraphProto,
 * NodeProto, AttributeProto, TensorProto, ValueInfoProto and its type/shape messages).
 * Field numbers follow onnx/onnx.proto (IR version 8).
 */

/** Protobuf wire format: varints and length-delimited fields are all these messages need. */
class ProtoWriter {
  private readonly bytes: number[] = [];

  private rawVarint(value: number): void {
    // int64 varint: a negative value is its 64-bit two's complement (ten bytes), e.g. axis −1.
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.bytes.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.bytes.push(Number(v));
  }

  varint(field: number, value: number): this {
    this.rawVarint(field * 8 + 0);
    this.rawVarint(value);
    return this;
  }

  lengthDelimited(field: number, payload: Uint8Array): this {
    this.rawVarint(field * 8 + 2);
    this.rawVarint(payload.length);
    for (const byte of payload) this.bytes.push(byte);
    return this;
  }

  string(field: number, text: string): this {
    return this.lengthDelimited(field, new TextEncoder().encode(text));
  }

  float(field: number, value: number): this {
    this.rawVarint(field * 8 + 5);
    const buffer = new DataView(new ArrayBuffer(4));
    buffer.setFloat32(0, value, true);
    for (let i = 0; i < 4; i++) this.bytes.push(buffer.getUint8(i));
    return this;
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

const FLOAT = 1;
const INT64 = 7;
const ATTRIBUTE_FLOAT = 1;
const ATTRIBUTE_INT = 2;
const ATTRIBUTE_INTS = 7;

type AttributeValue = { float: number } | { int: number } | { ints: number[] };

function attribute(name: string, value: AttributeValue): Uint8Array {
  const w = new ProtoWriter().string(1, name);
  if ('float' in value) w.float(2, value.float).varint(20, ATTRIBUTE_FLOAT);
  else if ('int' in value) w.varint(3, value.int).varint(20, ATTRIBUTE_INT);
  else {
    for (const v of value.ints) w.varint(8, v);
    w.varint(20, ATTRIBUTE_INTS);
  }
  return w.finish();
}

interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  domain?: string;
  attributes?: Record<string, AttributeValue>;
}

function node(spec: NodeSpec, index: number): Uint8Array {
  const w = new ProtoWriter();
  for (const input of spec.inputs) w.string(1, input);
  for (const output of spec.outputs) w.string(2, output);
  w.string(3, `${spec.op}_${index}`).string(4, spec.op);
  for (const [name, value] of Object.entries(spec.attributes ?? {})) w.lengthDelimited(5, attribute(name, value));
  if (spec.domain) w.string(7, spec.domain);
  return w.finish();
}

function valueInfo(name: string, dims: number[]): Uint8Array {
  const shape = new ProtoWriter();
  for (const d of dims) shape.lengthDelimited(1, new ProtoWriter().varint(1, d).finish());
  const tensorType = new ProtoWriter().varint(1, FLOAT).lengthDelimited(2, shape.finish()).finish();
  const type = new ProtoWriter().lengthDelimited(1, tensorType).finish();
  return new ProtoWriter().string(1, name).lengthDelimited(2, type).finish();
}

/** A TensorProto initializer with little-endian raw_data (field 9). */
function initializer(name: string, dims: number[], dataType: number, raw: Uint8Array): Uint8Array {
  const w = new ProtoWriter();
  for (const d of dims) w.varint(1, d);
  return w.varint(2, dataType).string(8, name).lengthDelimited(9, raw).finish();
}

function int64Initializer(name: string, values: number[]): Uint8Array {
  const raw = new DataView(new ArrayBuffer(values.length * 8));
  values.forEach((v, i) => raw.setBigInt64(i * 8, BigInt(v), true));
  return initializer(name, [values.length], INT64, new Uint8Array(raw.buffer));
}

function floatScalarInitializer(name: string, value: number): Uint8Array {
  const raw = new DataView(new ArrayBuffer(4));
  raw.setFloat32(0, value, true);
  return initializer(name, [], FLOAT, new Uint8Array(raw.buffer));
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
  const graph = new ProtoWriter();
  spec.nodes.forEach((n, i) => graph.lengthDelimited(1, node(n, i)));
  graph.string(2, 'latentkit_bench');
  for (const [name, values] of Object.entries(spec.int64Initializers ?? {})) graph.lengthDelimited(5, int64Initializer(name, values));
  for (const [name, value] of Object.entries(spec.floatScalars ?? {})) graph.lengthDelimited(5, floatScalarInitializer(name, value));
  for (const [name, dims] of spec.inputs) graph.lengthDelimited(11, valueInfo(name, dims));
  for (const [name, dims] of spec.outputs) graph.lengthDelimited(12, valueInfo(name, dims));
  const w = new ProtoWriter().varint(1, 8).string(2, 'latentkit-bench').lengthDelimited(7, graph.finish());
  for (const [domain, version] of Object.entries(spec.opsets)) {
    w.lengthDelimited(8, new ProtoWriter().string(1, domain).varint(2, version).finish());
  }
  return w.finish();
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
