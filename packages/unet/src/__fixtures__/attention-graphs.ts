/**
 * Small ONNX graphs built in the test, for layouts no shipped model has: a `com.microsoft`
 * MultiHeadAttention between two ordinary ops, and torch's scaled_dot_product_attention export.
 */
import { ByteRange, OnnxAttributeType, encodeOnnxModel, type OnnxNode, type OnnxTensor } from '@latentkit/onnx';
import { float32ToFloat16 } from '@latentkit/native';
import { decodeModel, type DecodedModel } from '../onnx-graph-codec';

function node(opType: string, inputs: string[], outputs: string[], options: { domain?: string; ints?: Record<string, number> } = {}): OnnxNode {
  const attributes = Object.entries(options.ints ?? {}).map(([name, i]) => ({ name, type: OnnxAttributeType.INT, i }));
  return { name: `${opType}_${outputs[0]}`, opType, domain: options.domain ?? '', inputs, outputs, attributes };
}

/**
 * `q_in, k_in, v_in → Sigmoid(q) → MultiHeadAttention(heads) → Relu → out`, encoded and decoded.
 */
export function multiHeadAttentionGraph(heads: number): { bytes: Uint8Array; model: DecodedModel } {
  const value = (name: string) => ({ name, tensorType: { elemType: 1 } });
  const bytes = encodeOnnxModel({
    irVersion: 8,
    opsetImports: [{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }],
    graph: {
      name: 'mha',
      nodes: [
        node('Sigmoid', ['q_in'], ['q']),
        node('MultiHeadAttention', ['q', 'k_in', 'v_in'], ['attended'], { domain: 'com.microsoft', ints: { num_heads: heads } }),
        node('Relu', ['attended'], ['out']),
      ],
      initializers: [],
      inputs: ['q_in', 'k_in', 'v_in'].map(value),
      outputs: [value('out')],
      valueInfo: [],
    },
  });
  return { bytes, model: decodeModel(bytes) };
}

function int64Tensor(name: string, values: number[]): OnnxTensor {
  return { name, dataType: 7, dims: [values.length], data: { field: 'raw_data', bytes: ByteRange.of(new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer)) } };
}

function floatScalar(name: string, value: number): OnnxTensor {
  return { name, dataType: 1, dims: [], data: { field: 'raw_data', bytes: ByteRange.of(new Uint8Array(Float32Array.of(value).buffer)) } };
}

/**
 * torch's export of `F.scaled_dot_product_attention(q, k, v)` with no explicit scale, as
 * diffusers' `AttnProcessor2_0` calls it: 4-D heads, Kᵀ as Transpose(0,1,3,2), and √(1/√d)
 * computed from Q's shape multiplied onto Q and onto Kᵀ. Then a Relu.
 */
export function scaledDotProductAttentionGraph(heads: number, headDim: number): { bytes: Uint8Array; model: DecodedModel } {
  const value = (name: string) => ({ name, tensorType: { elemType: 1 } });
  const perm = (name: string, input: string, order: number[]): OnnxNode => ({
    name, opType: 'Transpose', domain: '', inputs: [input], outputs: [name], attributes: [{ name: 'perm', type: OnnxAttributeType.INTS, ints: order }],
  });
  const plain = (opType: string, inputs: string[], output: string, attributes: OnnxNode['attributes'] = []): OnnxNode => ({ name: output, opType, domain: '', inputs, outputs: [output], attributes });
  const nodes: OnnxNode[] = [];
  for (const role of ['q', 'k', 'v']) {
    nodes.push(plain('Reshape', [`${role}_in`, 'split_shape'], `${role}4`));
    nodes.push(perm(`${role}h`, `${role}4`, [0, 2, 1, 3]));
  }
  nodes.push(
    perm('kT', 'kh', [0, 1, 3, 2]),
    plain('Shape', ['qh'], 'q_shape'),
    plain('Slice', ['q_shape', 'last_start', 'last_end'], 'q_width'),
    plain('Cast', ['q_width'], 'q_width_float', [{ name: 'to', type: OnnxAttributeType.INT, i: 1 }]),
    plain('Sqrt', ['q_width_float'], 'sqrt_width'),
    plain('Div', ['one', 'sqrt_width'], 'scale'),
    plain('Sqrt', ['scale'], 'sqrt_scale'),
    plain('Mul', ['qh', 'sqrt_scale'], 'q_scaled'),
    plain('Mul', ['kT', 'sqrt_scale'], 'k_scaled'),
    plain('MatMul', ['q_scaled', 'k_scaled'], 'scores'),
    plain('Softmax', ['scores'], 'probabilities', [{ name: 'axis', type: OnnxAttributeType.INT, i: -1 }]),
    plain('MatMul', ['probabilities', 'vh'], 'weighted'),
    perm('merged', 'weighted', [0, 2, 1, 3]),
    plain('Reshape', ['merged', 'merge_shape'], 'attended'),
    plain('Relu', ['attended'], 'out'),
  );
  const bytes = encodeOnnxModel({
    irVersion: 8,
    opsetImports: [{ domain: '', version: 17 }],
    graph: {
      name: 'sdpa',
      nodes,
      initializers: [
        int64Tensor('split_shape', [0, 0, heads, headDim]),
        int64Tensor('merge_shape', [0, 0, heads * headDim]),
        int64Tensor('last_start', [-1]),
        int64Tensor('last_end', [2 ** 53 - 1]),
        floatScalar('one', 1),
      ],
      inputs: ['q_in', 'k_in', 'v_in'].map(value),
      outputs: [value('out')],
      valueInfo: [],
    },
  });
  return { bytes, model: decodeModel(bytes) };
}

function float16Tensor(name: string, dims: number[], values: Float32Array): OnnxTensor {
  const bits = float32ToFloat16(values);
  return { name, dataType: 10, dims, data: { field: 'raw_data', bytes: ByteRange.of(new Uint8Array(bits.buffer)) } };
}

/** Deterministic weights in [−amplitude, amplitude]. */
function wave(length: number, seed: number, amplitude: number): Float32Array {
  return Float32Array.from({ length }, (_, i) => Math.sin((i + 1) * seed) * amplitude);
}

/**
 * A self-attention block of a UNet exported in float16 (diffusers' converter with `--fp16`, which
 * exports `AttnProcessor` on a `.half()` model): every tensor and weight is float16. Projections
 * `x·Wq`, `x·Wk`, `x·Wv` → 3-D heads `[B·H, N, D]` → MatMul → Mul(scale, a float16 constant) →
 * Softmax → MatMul(·, V) → head merge → `·Wo`. With `upcastSoftmax` (SD 2.x's `upcast_softmax`),
 * the scores are Cast to float32 before the Softmax and the probabilities back to float16 after.
 * Input `x` `[batch, tokens, heads·headDim]` float16, output `out` likewise.
 */
export function float16AttentionGraph(dims: { batch: number; tokens: number; heads: number; headDim: number; upcastSoftmax: boolean }): { bytes: Uint8Array; model: DecodedModel } {
  const { batch, tokens, heads, headDim, upcastSoftmax } = dims;
  const width = heads * headDim;
  const value = (name: string, shape: number[]) => ({ name, tensorType: { elemType: 10, shape } });
  const plain = (opType: string, inputs: string[], output: string, attributes: OnnxNode['attributes'] = []): OnnxNode => ({ name: output, opType, domain: '', inputs, outputs: [output], attributes });
  const perm = (output: string, input: string, order: number[]): OnnxNode => plain('Transpose', [input], output, [{ name: 'perm', type: OnnxAttributeType.INTS, ints: order }]);
  const cast = (output: string, input: string, to: number): OnnxNode => plain('Cast', [input], output, [{ name: 'to', type: OnnxAttributeType.INT, i: to }]);
  const nodes: OnnxNode[] = [];
  for (const role of ['q', 'k', 'v']) {
    nodes.push(plain('MatMul', ['x', `w_${role}`], `${role}_proj`));
    nodes.push(plain('Reshape', [`${role}_proj`, 'split_shape'], `${role}4`));
    nodes.push(perm(`${role}h`, `${role}4`, [0, 2, 1, 3]));
    nodes.push(plain('Reshape', [`${role}h`, 'batch_heads_shape'], `${role}3`));
  }
  nodes.push(perm('kT', 'k3', [0, 2, 1]), plain('MatMul', ['q3', 'kT'], 'scores'), plain('Mul', ['scores', 'scale'], 'scaled'));
  if (upcastSoftmax) {
    nodes.push(cast('scaled32', 'scaled', 1), plain('Softmax', ['scaled32'], 'probabilities32', [{ name: 'axis', type: OnnxAttributeType.INT, i: -1 }]), cast('probabilities', 'probabilities32', 10));
  } else {
    nodes.push(plain('Softmax', ['scaled'], 'probabilities', [{ name: 'axis', type: OnnxAttributeType.INT, i: -1 }]));
  }
  nodes.push(
    plain('MatMul', ['probabilities', 'v3'], 'weighted'),
    plain('Reshape', ['weighted', 'heads_shape'], 'weighted4'),
    perm('merged', 'weighted4', [0, 2, 1, 3]),
    plain('Reshape', ['merged', 'merge_shape'], 'attended'),
    plain('MatMul', ['attended', 'w_o'], 'out'),
  );
  const bytes = encodeOnnxModel({
    irVersion: 8,
    opsetImports: [{ domain: '', version: 17 }],
    graph: {
      name: 'float16 attention',
      nodes,
      initializers: [
        float16Tensor('w_q', [width, width], wave(width * width, 1.1, 0.5)),
        float16Tensor('w_k', [width, width], wave(width * width, 2.3, 0.5)),
        float16Tensor('w_v', [width, width], wave(width * width, 3.7, 0.5)),
        float16Tensor('w_o', [width, width], wave(width * width, 4.1, 0.5)),
        float16Tensor('scale', [], Float32Array.of(1 / Math.sqrt(headDim))),
        int64Tensor('split_shape', [0, 0, heads, headDim]),
        int64Tensor('batch_heads_shape', [batch * heads, tokens, headDim]),
        int64Tensor('heads_shape', [batch, heads, tokens, headDim]),
        int64Tensor('merge_shape', [0, 0, width]),
      ],
      inputs: [value('x', [batch, tokens, width])],
      outputs: [value('out', [batch, tokens, width])],
      valueInfo: [],
    },
  });
  return { bytes, model: decodeModel(bytes) };
}
