/**
 * The sizes a Stable Diffusion part's ONNX graph itself declares, for folders whose `config.json`
 * is missing or incomplete (diffusers' `convert_stable_diffusion_checkpoint_to_onnx.py` writes
 * none, and leaves the UNet's `sample` channels dynamic). Read from declared input/output shapes
 * first, then from weight shapes, which every export keeps: a Conv weight is
 * `[out_channels, in_channels, kH, kW]`, a MatMul weight `[in, out]`, an embedding table
 * `[rows, width]`. Only the graph's structure is read, never a weight's values.
 */
import type { OnnxGraph, OnnxModel, OnnxNode, OnnxTensor } from './onnx-model';
import { readOnnxModelFile } from './onnx-model-reader';

/** The ONNX parts of a Stable Diffusion folder whose graphs say something about their sizes. */
export type GraphRole = 'unet' | 'vae-decoder' | 'vae-encoder' | 'text-encoder';

/** What a graph declares; a field is absent when the graph does not say. */
export interface GraphDimensions {
  /** UNet: channels of `sample` (`conv_in`'s weight `[320, 4, 3, 3]` → 4). */
  readonly inChannels?: number;
  /** UNet: channels of the prediction (`conv_out`'s weight `[4, 320, 3, 3]` → 4). */
  readonly outChannels?: number;
  /** UNet: width of `encoder_hidden_states` (its last axis, else the cross-attention key weight's rows). */
  readonly crossAttentionDim?: number;
  /** UNet: the latent side, when the export fixed it. */
  readonly sampleSize?: number;
  /** VAE: latent channels (decoder: `latent_sample`'s channels or its first Conv's input channels). */
  readonly latentChannels?: number;
  /** VAE: image side / latent side: 2^(upsampling stages of the decoder, or stride-2 convolutions of the encoder). */
  readonly scaleFactor?: number;
  /** Text encoder: width of `last_hidden_state` (its last axis, else the final norm's width). */
  readonly hiddenSize?: number;
  /** Text encoder: the longest token sequence it takes (position-embedding rows, or a fixed `input_ids` length). */
  readonly maxPositions?: number;
}

const positive = (value: unknown): number | undefined => (typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined);

/** Lookups over one graph: initializers by name, and each value's producer. */
class GraphIndex {
  readonly initializers: Map<string, OnnxTensor>;
  readonly producers = new Map<string, OnnxNode>();
  constructor(readonly graph: OnnxGraph) {
    this.initializers = new Map(graph.initializers.map((tensor) => [tensor.name, tensor]));
    for (const node of graph.nodes) for (const output of node.outputs) this.producers.set(output, node);
    // Constant nodes hold weights too (some exporters fold them so).
    for (const node of graph.nodes) {
      const value = node.opType === 'Constant' ? node.attributes.find((a) => a.name === 'value')?.t : undefined;
      if (value && node.outputs[0]) this.initializers.set(node.outputs[0], { ...value, name: node.outputs[0] });
    }
  }

  /** The dims of the weight behind `name`, through Identity/Cast (fp16 exports cast their weights). */
  weightDims(name: string | undefined): number[] | undefined {
    for (let hops = 0; name !== undefined && hops < 4; hops++) {
      const tensor = this.initializers.get(name);
      if (tensor) return tensor.dims.map(Number);
      const producer = this.producers.get(name);
      if (producer?.opType !== 'Identity' && producer?.opType !== 'Cast') return undefined;
      name = producer.inputs[0];
    }
    return undefined;
  }

  shape(name: string, side: 'input' | 'output'): readonly (number | string | null)[] | undefined {
    return (side === 'input' ? this.graph.inputs : this.graph.outputs).find((value) => value.name === name)?.tensorType?.shape;
  }

  consumers(name: string, opType: string): OnnxNode[] {
    return this.graph.nodes.filter((node) => node.opType === opType && node.inputs[0] === name);
  }

  /** The Conv that makes `name`, looking back through up to `hops` single-path ops (Clip, Identity, Cast). */
  convProducing(name: string, hops = 3): OnnxNode | undefined {
    let node = this.producers.get(name);
    for (let i = 0; node && i < hops && node.opType !== 'Conv'; i++) {
      const next = node.inputs.filter((input) => input && !this.initializers.has(input));
      if (next.length !== 1) return undefined;
      node = this.producers.get(next[0]!);
    }
    return node?.opType === 'Conv' ? node : undefined;
  }
}

function unetDimensions(index: GraphIndex): GraphDimensions {
  const sample = index.shape('sample', 'input');
  const states = index.shape('encoder_hidden_states', 'input');
  const output = index.graph.outputs[0];
  const convIn = index.consumers('sample', 'Conv')[0] ?? index.graph.nodes.find((node) => node.opType === 'Conv' && /conv_in/.test(node.name));
  const convOut = (output && index.convProducing(output.name)) ?? index.graph.nodes.find((node) => node.opType === 'Conv' && /conv_out/.test(node.name));
  const key = index.consumers('encoder_hidden_states', 'MatMul').map((node) => index.weightDims(node.inputs[1])).find((dims) => dims?.length === 2);
  const [height, width] = [positive(sample?.[2]), positive(sample?.[3])];
  return compact({
    inChannels: positive(sample?.[1]) ?? positive(index.weightDims(convIn?.inputs[1])?.[1]),
    outChannels: positive(output?.tensorType?.shape?.[1]) ?? positive(index.weightDims(convOut?.inputs[1])?.[0]),
    crossAttentionDim: positive(states?.[2]) ?? positive(key?.[0]),
    sampleSize: height !== undefined && height === width ? height : undefined,
  });
}

function upsamplingStages(graph: OnnxGraph): number {
  return graph.nodes.filter((node) => node.opType === 'Resize' || node.opType === 'Upsample').length;
}

function vaeDecoderDimensions(index: GraphIndex): GraphDimensions {
  const input = index.graph.inputs.find((value) => !index.initializers.has(value.name));
  const firstConv = input ? index.consumers(input.name, 'Conv')[0] : undefined;
  return compact({
    latentChannels: positive(input?.tensorType?.shape?.[1]) ?? positive(index.weightDims(firstConv?.inputs[1])?.[1]),
    scaleFactor: 2 ** upsamplingStages(index.graph),
  });
}

function vaeEncoderDimensions(index: GraphIndex): GraphDimensions {
  const output = index.graph.outputs[0];
  // latent_parameters (mean and log-variance) has twice the latent channels; latent_sample has them.
  const halve = output?.name !== 'latent_sample';
  const declared = positive(output?.tensorType?.shape?.[1]);
  // Else the last Conv (quant_conv, or conv_out without one) makes the moments: 2 × latent channels.
  const convs = index.graph.nodes.filter((node) => node.opType === 'Conv');
  const moments = positive(index.weightDims(convs[convs.length - 1]?.inputs[1])?.[0]);
  const latentChannels = declared !== undefined ? (halve ? declared / 2 : declared) : moments !== undefined ? moments / 2 : undefined;
  const strided = index.graph.nodes.filter(
    (node) => node.opType === 'Conv' && node.attributes.some((a) => a.name === 'strides' && a.ints?.length && a.ints.every((s) => Number(s) === 2)),
  ).length;
  return compact({
    latentChannels: positive(latentChannels),
    scaleFactor: 2 ** strided,
  });
}

function textEncoderDimensions(index: GraphIndex): GraphDimensions {
  const states = index.graph.outputs.find((value) => value.name === 'last_hidden_state') ?? index.graph.outputs[0];
  const shape = states?.tensorType?.shape;
  let hiddenSize = positive(shape?.[shape.length - 1]);
  if (hiddenSize === undefined && states) {
    // The final layer norm's scale or bias: a one-axis weight on the node that makes the states.
    const norm = index.producers.get(states.name);
    hiddenSize = norm?.inputs.map((input) => index.weightDims(input)).find((dims) => dims?.length === 1)?.[0];
  }
  const positions = [...index.initializers.values()].find((tensor) => /position_embeddings?(\.weight)?$/.test(tensor.name) && tensor.dims.length === 2);
  const ids = index.shape('input_ids', 'input');
  return compact({ hiddenSize, maxPositions: positive(positions ? Number(positions.dims[0]) : undefined) ?? positive(ids?.[1]) });
}

function compact(values: Record<string, number | undefined>): GraphDimensions {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as GraphDimensions;
}

/**
 * What a decoded model's graph declares about its sizes, for the given part.
 *
 * @example
 * ```ts
 * graphDimensions(readOnnxModelFile('unet/model.onnx'), 'unet'); // { inChannels: 4, outChannels: 4, crossAttentionDim: 768 }
 * ```
 */
export function graphDimensions(model: OnnxModel, role: GraphRole): GraphDimensions {
  const index = new GraphIndex(model.graph);
  switch (role) {
    case 'unet':
      return unetDimensions(index);
    case 'vae-decoder':
      return vaeDecoderDimensions(index);
    case 'vae-encoder':
      return vaeEncoderDimensions(index);
    case 'text-encoder':
      return textEncoderDimensions(index);
  }
}

/**
 * Reads `file`'s graph (never its weights, nor any external data file) and returns what it
 * declares about its sizes. Throws a `ModelLoadError` naming the file when it is not an ONNX model.
 *
 * @example
 * ```ts
 * readGraphDimensions('models/sd15/vae_decoder/model.onnx', 'vae-decoder'); // { latentChannels: 4, scaleFactor: 8 }
 * ```
 */
export function readGraphDimensions(file: string, role: GraphRole): GraphDimensions {
  return graphDimensions(readOnnxModelFile(file), role);
}
