/**
 * Recovering the posterior's mean and standard deviation from a VAE encoder that samples inside
 * its graph.
 *
 * diffusers' ONNX conversion exports `vae.encode(x).latent_dist.sample()`: the graph ends in
 * `latent_sample = Add(mean, Mul(std, Cast?(RandomNormalLike(…))))`, with onnxruntime's own
 * unseeded noise. Exposing `mean` and `std` as extra graph outputs lets latentkit draw ε with the
 * caller's generator instead — exactly diffusers' `mean + std · randn(mean.shape, generator)` —
 * so that image-to-image is reproducible and matches diffusers under a seed.
 *
 * The model is edited at the protobuf level (ModelProto.graph.output gets two ValueInfoProto
 * entries); nothing else changes, so the weights and the computation are the original ones.
 */
import { protobufText, readProtobufFields } from '@latentkit/onnx';


function writeVarint(value: number): number[] {
  const out: number[] = [];
  while (value >= 0x80) {
    out.push((value % 128) | 0x80);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return out;
}

function lengthDelimited(number: number, payload: readonly number[] | Uint8Array): number[] {
  return [...writeVarint(number * 8 + 2), ...writeVarint(payload.length), ...payload];
}

/** ValueInfoProto { name, type: TypeProto { tensor_type: { elem_type: FLOAT } } }. */
function floatOutput(name: string): number[] {
  const tensorType = [...writeVarint(1 * 8 + 0), 1]; // elem_type = 1 (float)
  const typeProto = lengthDelimited(1, tensorType); // TypeProto.tensor_type
  return lengthDelimited(12, [...lengthDelimited(1, new TextEncoder().encode(name)), ...lengthDelimited(2, typeProto)]);
}

interface GraphNode {
  readonly inputs: string[];
  readonly outputs: string[];
  readonly op: string;
}

/** The names of the posterior's mean and standard deviation in the graph, and the edited model. */
export interface PosteriorOutputs {
  readonly mean: string;
  readonly std: string;
  /** The model with `mean` and `std` added to its outputs. */
  readonly model: Uint8Array;
}

/**
 * Finds `output = Add(mean, Mul(std, noise))` with `noise` from a RandomNormal(Like) node (through
 * Casts), and returns the model with `mean` and `std` as extra outputs; undefined when the graph
 * does not end that way.
 *
 * @example
 * ```ts
 * const exposed = exposePosteriorOutputs(fs.readFileSync('vae_encoder/model.onnx'), 'latent_sample');
 * if (exposed) session = await ort.InferenceSession.create(exposed.model);
 * ```
 */
export function exposePosteriorOutputs(model: Uint8Array, sampleOutput: string): PosteriorOutputs | undefined {
  const top = readProtobufFields(model, 0, model.length);
  const graph = top.find((f) => f.number === 7 && f.wire === 2);
  if (!graph) return undefined;
  const nodes: GraphNode[] = readProtobufFields(model, graph.start, graph.end)
    .filter((f) => f.number === 1 && f.wire === 2)
    .map((node) => {
      const parts = readProtobufFields(model, node.start, node.end);
      const op = parts.find((p) => p.number === 4);
      return {
        inputs: parts.filter((p) => p.number === 1).map((p) => protobufText(model, p)),
        outputs: parts.filter((p) => p.number === 2).map((p) => protobufText(model, p)),
        op: op ? protobufText(model, op) : '',
      };
    });
  const producer = new Map<string, GraphNode>();
  for (const node of nodes) for (const output of node.outputs) producer.set(output, node);
  const isNoise = (name: string): boolean => {
    let node = producer.get(name);
    while (node?.op === 'Cast') node = producer.get(node.inputs[0]!);
    return node?.op === 'RandomNormalLike' || node?.op === 'RandomNormal';
  };
  const add = producer.get(sampleOutput);
  if (add?.op !== 'Add' || add.inputs.length !== 2) return undefined;
  for (const [meanIndex, mulIndex] of [[0, 1], [1, 0]] as const) {
    const mul = producer.get(add.inputs[mulIndex]!);
    if (mul?.op !== 'Mul' || mul.inputs.length !== 2) continue;
    const std = isNoise(mul.inputs[1]!) ? mul.inputs[0]! : isNoise(mul.inputs[0]!) ? mul.inputs[1]! : undefined;
    if (std === undefined) continue;
    const mean = add.inputs[meanIndex]!;
    const extra = [...floatOutput(mean), ...floatOutput(std)];
    const graphPayload = new Uint8Array(graph.end - graph.start + extra.length);
    graphPayload.set(model.subarray(graph.start, graph.end));
    graphPayload.set(extra, graph.end - graph.start);
    const key = writeVarint(7 * 8 + 2); // ModelProto.graph, re-emitted with its new length
    const length = writeVarint(graphPayload.length);
    const edited = new Uint8Array(graph.keyStart + key.length + length.length + graphPayload.length + (model.length - graph.end));
    let offset = 0;
    edited.set(model.subarray(0, graph.keyStart), offset);
    offset += graph.keyStart;
    edited.set(key, offset);
    offset += key.length;
    edited.set(length, offset);
    offset += length.length;
    edited.set(graphPayload, offset);
    offset += graphPayload.length;
    edited.set(model.subarray(graph.end), offset);
    return { mean, std, model: edited };
  }
  return undefined;
}
