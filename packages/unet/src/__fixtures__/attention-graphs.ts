/**
 * Small ONNX graphs built in the test, for layouts no shipped model has: a `com.microsoft`
 * MultiHeadAttention between two ordinary ops.
 */
import { OnnxAttributeType, encodeOnnxModel, type OnnxNode } from '@latentkit/onnx';
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
