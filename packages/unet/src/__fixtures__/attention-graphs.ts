/**
 * Small ONNX graphs built in the test, for layouts no shipped model has: a `com.microsoft`
 * MultiHeadAttention between two ordinary ops.
 */
import { ProtobufWriter, decodeModel, encodeSegmentModel, encodeValueInfo, type DecodedModel, type GraphNode } from '../onnx-graph-codec';

function node(opType: string, inputs: string[], outputs: string[], options: { domain?: string; ints?: Record<string, number> } = {}): GraphNode {
  const writer = new ProtobufWriter();
  for (const input of inputs) writer.text(1, input);
  for (const output of outputs) writer.text(2, output);
  writer.text(3, `${opType}_${outputs[0]}`).text(4, opType);
  for (const [name, value] of Object.entries(options.ints ?? {})) {
    writer.bytes(5, new ProtobufWriter().text(1, name).uint(3, value).uint(20, 2).finish());
  }
  if (options.domain) writer.text(7, options.domain);
  return { index: 0, name: '', opType, domain: options.domain ?? '', inputs, outputs, attributes: new Map(), bytes: writer.finish() };
}

function opset(domain: string, version: number): Uint8Array {
  const writer = new ProtobufWriter();
  if (domain) writer.text(1, domain);
  return writer.uint(2, version).finish();
}

/**
 * `q_in, k_in, v_in → Sigmoid(q) → MultiHeadAttention(heads) → Relu → out`, decoded.
 */
export function multiHeadAttentionGraph(heads: number): { bytes: Uint8Array; model: DecodedModel } {
  const shell = { irVersion: 8, opsetImports: [opset('', 17), opset('com.microsoft', 1)] } as DecodedModel;
  const bytes = encodeSegmentModel(shell, {
    name: 'mha',
    nodes: [
      node('Sigmoid', ['q_in'], ['q']),
      node('MultiHeadAttention', ['q', 'k_in', 'v_in'], ['attended'], { domain: 'com.microsoft', ints: { num_heads: heads } }),
      node('Relu', ['attended'], ['out']),
    ],
    initializers: [],
    inputs: ['q_in', 'k_in', 'v_in'].map((name) => encodeValueInfo(name, 1)),
    outputs: [encodeValueInfo('out', 1)],
  });
  return { bytes, model: decodeModel(bytes) };
}
