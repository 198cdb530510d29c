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
import { decodeOnnxModel, encodeOnnxModel, OnnxDataType, type OnnxNode } from '@latentkit/onnx';

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
  const decoded = decodeOnnxModel(model);
  const producer = new Map<string, OnnxNode>();
  for (const node of decoded.graph.nodes) for (const output of node.outputs) producer.set(output, node);
  const isNoise = (name: string): boolean => {
    let node = producer.get(name);
    while (node?.opType === 'Cast') node = producer.get(node.inputs[0]!);
    return node?.opType === 'RandomNormalLike' || node?.opType === 'RandomNormal';
  };
  const add = producer.get(sampleOutput);
  if (add?.opType !== 'Add' || add.inputs.length !== 2) return undefined;
  for (const [meanIndex, mulIndex] of [[0, 1], [1, 0]] as const) {
    const mul = producer.get(add.inputs[mulIndex]!);
    if (mul?.opType !== 'Mul' || mul.inputs.length !== 2) continue;
    const std = isNoise(mul.inputs[1]!) ? mul.inputs[0]! : isNoise(mul.inputs[0]!) ? mul.inputs[1]! : undefined;
    if (std === undefined) continue;
    const mean = add.inputs[meanIndex]!;
    // Type only, no shape: onnxruntime reports the shape the run produces.
    const floatOutput = (name: string) => ({ name, tensorType: { elemType: OnnxDataType.FLOAT } });
    const outputs = [...decoded.graph.outputs, floatOutput(mean), floatOutput(std)];
    return { mean, std, model: encodeOnnxModel({ ...decoded, graph: { ...decoded.graph, outputs } }) };
  }
  return undefined;
}
