/**
 * Small ONNX graphs built in the test, for layouts no shipped model has: a `com.microsoft`
 * MultiHeadAttention between two ordinary ops, and torch's scaled_dot_product_attention export.
 */
import { ByteRange, OnnxAttributeType, encodeOnnxModel, type OnnxNode, type OnnxTensor } from '@latentkit/onnx';
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
