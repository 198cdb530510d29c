/**
 * Question 5: how can cross-attention work when the latent is 4×64×64 and the text 77×768?
 *
 * Reads the UNet's ONNX graph, finds every attention (a Softmax between two MatMuls), follows
 * its inputs back to the projections with weights (to_q, to_k, to_v), then runs the UNet once
 * with those tensors added to the graph's outputs, so that the shapes printed are the ones the
 * run produced, not ones worked out by hand. Queries come from the latent's pixels (one row per
 * position of the feature map), keys and values from the 77 tokens; both are projected to the
 * layer's width, so Q·Kᵀ is [pixels × tokens] whatever the text width was.
 *
 *   pnpm --filter @latentkit/examples exec tsx cross-attention-shapes.ts [--model <folder>]
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { exists, readJsonObject } from '@latentkit/core';
import { displayPath, formatTable, parseFlags, printer, processIo, runIfScript, type ExampleIo } from './lib/example-cli';
import { parseOnnxGraph, stageEditedModel, withExtraOutputs, type OnnxGraph, type OnnxInitializer, type OnnxNode } from './lib/onnx-graph';

/** The tensors of one attention layer, by name in the graph. */
export interface AttentionTensors {
  /** The layer's name (the query projection's node name without its last two segments). */
  readonly layer: string;
  /** Keys and values come from the text (`encoder_hidden_states`) rather than the latent. */
  readonly cross: boolean;
  /** What the key projection reads: `encoder_hidden_states` for cross-attention, the latent's features for self-attention. */
  readonly keyInput: string;
  /** Outputs of to_q, to_k, to_v ([batch, rows, width]). */
  readonly query: string;
  readonly key: string;
  readonly value: string;
  /** softmax(Q·Kᵀ/√d) ([batch, heads, pixels, keys] or [batch·heads, pixels, keys]). */
  readonly scores: string;
  /** The stored shapes of W_q, W_k, W_v ([input width, inner width] as MatMul reads them), where the weights are initializers. */
  readonly weightShapes: { readonly query?: readonly number[]; readonly key?: readonly number[]; readonly value?: readonly number[] };
}

const MATMUL = new Set(['MatMul', 'Gemm', 'Einsum']);
/** Ops that pass a weight through unchanged in meaning (fp16 storage, layout). */
const WEIGHT_PASSTHROUGH = new Set(['Cast', 'Transpose', 'Identity', 'Reshape']);

/** Indexes a graph: who produces each tensor, which tensors are stored weights. */
class GraphIndex {
  readonly producer = new Map<string, OnnxNode>();
  readonly consumers = new Map<string, OnnxNode[]>();
  readonly stored: Set<string>;
  constructor(readonly graph: OnnxGraph) {
    for (const node of graph.nodes) {
      for (const output of node.outputs) this.producer.set(output, node);
      for (const input of node.inputs) this.consumers.set(input, [...(this.consumers.get(input) ?? []), node]);
    }
    this.stored = new Set(graph.initializers.map((i) => i.name));
    this.initializers = new Map(graph.initializers.map((i) => [i.name, i]));
  }
  readonly initializers: Map<string, OnnxInitializer>;

  /** Whether a tensor is a weight: an initializer, possibly cast/transposed/reshaped (fp16 storage). */
  isWeight(name: string): boolean {
    let current = name;
    for (let hops = 0; hops < 4; hops++) {
      if (this.stored.has(current)) return true;
      const node = this.producer.get(current);
      if (!node || !(WEIGHT_PASSTHROUGH.has(node.opType) || node.opType === 'Constant')) return false;
      if (node.opType === 'Constant') return true;
      current = node.inputs[0]!;
    }
    return false;
  }

  /**
   * The nearest node upstream of `tensor` (breadth first) that satisfies `wanted`. Shape
   * computations are not followed: they lead to unrelated layers.
   */
  nearestUpstream(tensor: string, wanted: (node: OnnxNode) => boolean, maxHops = 12): OnnxNode | undefined {
    let frontier = [tensor];
    const seen = new Set(frontier);
    for (let hop = 0; hop < maxHops && frontier.length > 0; hop++) {
      const next: string[] = [];
      for (const name of frontier) {
        const node = this.producer.get(name);
        if (!node || node.opType === 'Shape' || node.opType === 'Size') continue;
        if (wanted(node)) return node;
        for (const input of node.inputs) {
          if (input && !seen.has(input) && !this.stored.has(input)) {
            seen.add(input);
            next.push(input);
          }
        }
      }
      frontier = next;
    }
    return undefined;
  }

  /** The stored initializer behind a projection's weight input (through Cast/Transpose/Identity/Reshape), if any. */
  weightOf(projection: OnnxNode): OnnxInitializer | undefined {
    let current = projection.inputs.find((input) => input && this.isWeight(input));
    for (let hops = 0; current !== undefined && hops < 4; hops++) {
      const stored = this.initializers.get(current);
      if (stored) return stored;
      current = this.producer.get(current)?.inputs[0];
    }
    return undefined;
  }

  /** The activation input of a projection (the input that is not a weight). */
  activationOf(projection: OnnxNode): string {
    return projection.inputs.find((input) => input && !this.isWeight(input)) ?? projection.inputs[0]!;
  }

  /** The projection (a MatMul with a weight) nearest upstream of a tensor. */
  projectionAbove(tensor: string): OnnxNode | undefined {
    return this.nearestUpstream(tensor, (node) => MATMUL.has(node.opType) && node.inputs.some((input) => input && this.isWeight(input)));
  }

  /** Follows Cast/Identity up to where a tensor comes from: a graph input's name, or the tensor. */
  origin(tensor: string): string {
    let current = tensor;
    for (let node = this.producer.get(current); node && (node.opType === 'Cast' || node.opType === 'Identity'); node = this.producer.get(current)) {
      current = node.inputs[0]!;
    }
    return current;
  }
}

/**
 * Finds every attention of a graph: Softmax(MatMul(Q', K'ᵀ)·scale) followed by a MatMul with V'.
 *
 * @example
 * ```ts
 * const layers = findAttentionLayers(parseOnnxGraph(bytes), 'encoder_hidden_states');
 * layers.filter((l) => l.cross).length; // cross-attention layers
 * ```
 */
export function findAttentionLayers(graph: OnnxGraph, textInput = 'encoder_hidden_states'): AttentionTensors[] {
  const index = new GraphIndex(graph);
  const layers: AttentionTensors[] = [];
  for (const softmax of graph.nodes.filter((node) => node.opType === 'Softmax')) {
    const scoresMatMul = index.nearestUpstream(softmax.inputs[0]!, (node) => MATMUL.has(node.opType), 4);
    const weighted = (index.consumers.get(softmax.outputs[0]!) ?? []).flatMap((node) =>
      node.opType === 'Cast' ? (index.consumers.get(node.outputs[0]!) ?? []) : [node],
    ).find((node) => MATMUL.has(node.opType));
    if (!scoresMatMul || !weighted) continue;
    const toQ = index.projectionAbove(scoresMatMul.inputs[0]!);
    const toK = index.projectionAbove(scoresMatMul.inputs[1]!);
    const valueInput = weighted.inputs.find((input) => input !== softmax.outputs[0] && index.producer.get(input)?.opType !== 'Cast') ?? weighted.inputs[1]!;
    const toV = index.projectionAbove(valueInput);
    if (!toQ || !toK || !toV) continue;
    const keyInput = index.origin(index.activationOf(toK));
    const name = toQ.name || `attention ${layers.length}`;
    layers.push({
      layer: name.split('/').filter(Boolean).slice(0, -2).join('/') || name,
      cross: keyInput === textInput,
      keyInput,
      query: toQ.outputs[0]!,
      key: toK.outputs[0]!,
      value: toV.outputs[0]!,
      scores: softmax.outputs[0]!,
      weightShapes: { query: index.weightOf(toQ)?.dims, key: index.weightOf(toK)?.dims, value: index.weightOf(toV)?.dims },
    });
  }
  return layers;
}

/**
 * The `timestep` feed a UNet session expects: int64 or float32, a scalar, [1] or [batch], as its
 * graph declares.
 *
 * @example
 * ```ts
 * feeds.timestep = timestepFeed(session, 500, 2);
 * ```
 */
export function timestepFeed(session: ort.InferenceSession, timestep: number, batch: number): ort.Tensor {
  const meta = (session.inputMetadata as readonly { name: string; type?: string; shape?: readonly (number | string)[] }[] | undefined)?.find((m) => m.name === 'timestep');
  const shape = meta?.shape?.length === 0 ? [] : [meta?.shape?.[0] === 1 ? 1 : batch];
  const count = shape.length === 0 ? 1 : shape[0]!;
  return meta?.type === 'int64'
    ? new ort.Tensor('int64', new BigInt64Array(count).fill(BigInt(Math.round(timestep))), shape)
    : new ort.Tensor('float32', new Float32Array(count).fill(timestep), shape);
}

const FLAGS = {
  batch: { type: 'number', default: 1, help: 'batch of the probe run (2 with classifier-free guidance)' },
  all: { type: 'number', default: 0, help: '1 prints self-attention layers too' },
} as const;

const dims = (shape: readonly number[]) => `[${shape.join(', ')}]`;

/**
 * Stable Diffusion 1.5's UNet, from its published `unet/config.json` (runwayml/stable-diffusion-v1-5):
 * the widths of its four levels, the text width its cross-attention reads, and its number of heads
 * (diffusers calls it `attention_head_dim`, a historical misnomer: SD 1.x has 8 heads at every level).
 */
export const SD15_UNET = { block_out_channels: [320, 640, 1280, 1280], cross_attention_dim: 768, attention_head_dim: 8, sample_size: 64 } as const;

/**
 * The cross-attention projections of SD 1.5 at 512×512, level by level: W_q maps a pixel's C
 * features to C, W_k and W_v map a token's 768 features to C, so Q is [h·w, C] and K, V are [77, C].
 *
 * @example
 * ```ts
 * sd15CrossAttentionRows()[1]; // ['down 1', '64×64 = 4096', '[320, 320]', '[768, 320]', '[768, 320]', '8 × 40', '[8, 4096, 77]']
 * ```
 */
export function sd15CrossAttentionRows(): string[][] {
  const { block_out_channels: widths, cross_attention_dim: text, attention_head_dim: heads, sample_size: side } = SD15_UNET;
  const levels = [
    ...widths.slice(0, 3).map((width, i) => ({ name: `down ${i + 1}`, width, side: side >> i })),
    { name: 'mid', width: widths[3], side: side >> 3 },
    ...[2, 1, 0].map((i) => ({ name: `up ${3 - i + 1}`, width: widths[i]!, side: side >> i })),
  ];
  return [
    ['level', 'pixels', 'W_q', 'W_k', 'W_v', 'heads × d', 'scores'],
    ...levels.map(({ name, width, side: s }) => [name, `${s}×${s} = ${s * s}`, dims([width, width]), dims([text, width]), dims([text, width]), `${heads} × ${width / heads}`, dims([heads, s * s, 77])]),
  ];
}

/** The feature map a query's rows come from: `8×8 = 64` for 64 positions of a 16×16 latent (÷ 2). */
function pixelGrid(query: readonly number[], latentSide: number): string {
  const positions = query[query.length - 2]!;
  const side = Math.round(Math.sqrt(positions));
  if (side * side !== positions) return String(positions);
  return `${side}×${side} = ${positions}${side === latentSide ? '' : ` (latent ÷ ${latentSide / side})`}`;
}

/**
 * Prints the query, key, value and score shapes of every attention layer of a model's UNet.
 *
 * @example
 * ```ts
 * await main(['--model', 'models/sd15-onnx']);
 * ```
 */
export async function main(argv: readonly string[], io: ExampleIo = processIo): Promise<void> {
  const print = printer(io);
  const { model, values } = parseFlags(argv, FLAGS);
  const modelFile = (await exists(path.join(model, 'unet', 'model.onnx'))) ? path.join(model, 'unet', 'model.onnx') : path.join(model, 'model.onnx');
  const configFile = path.join(path.dirname(modelFile), 'config.json');
  const config = (await exists(configFile)) ? await readJsonObject(configFile) : {};
  const bytes = await fs.readFile(modelFile);
  const graph = parseOnnxGraph(bytes);
  const layers = findAttentionLayers(graph);
  if (layers.length === 0) {
    print(`no attention found in ${modelFile}: expected Softmax nodes between MatMuls with weight projections`);
    return;
  }

  // One probe run with the attention tensors as extra outputs: the shapes are the run's own.
  const names = [...new Set(layers.flatMap((l) => [l.query, l.key, l.value, l.scores]))];
  const edited = withExtraOutputs(bytes, names);
  const { source, cleanup } = await stageEditedModel(modelFile, edited, graph);
  const shapes = new Map<string, readonly number[]>();
  const batch = Number(values.batch);
  const side = typeof config.sample_size === 'number' ? config.sample_size : 64;
  const channels = typeof config.in_channels === 'number' ? config.in_channels : 4;
  const width = typeof config.cross_attention_dim === 'number' ? config.cross_attention_dim : 768;
  const tokens = 77;
  try {
    const session = await ort.InferenceSession.create(source as string, { graphOptimizationLevel: 'disabled', intraOpNumThreads: 1 });
    try {
      const feeds: Record<string, ort.Tensor> = {
        sample: new ort.Tensor('float32', new Float32Array(batch * channels * side * side), [batch, channels, side, side]),
        encoder_hidden_states: new ort.Tensor('float32', new Float32Array(batch * tokens * width), [batch, tokens, width]),
      };
      feeds.timestep = timestepFeed(session, 500, batch);
      const outputs = await session.run(feeds, names);
      for (const name of names) shapes.set(name, outputs[name]!.dims);
    } finally {
      await session.release();
    }
  } finally {
    await cleanup();
  }

  print(`UNet: ${displayPath(modelFile)}`);
  print(`input: latent ${dims([batch, channels, side, side])}, text states ${dims([batch, tokens, width])} (cross_attention_dim ${width})`);
  print();
  const shown = Number(values.all) ? layers : layers.filter((l) => l.cross);
  const rows = [['layer', 'kind', 'pixels', 'Q (from pixels)', 'K (from tokens)', 'V', 'scores softmax(QKᵀ/√d)']];
  for (const l of shown) {
    rows.push([l.layer, l.cross ? 'cross' : 'self', pixelGrid(shapes.get(l.query)!, side), dims(shapes.get(l.query)!), dims(shapes.get(l.key)!), dims(shapes.get(l.value)!), dims(shapes.get(l.scores)!)]);
  }
  print(formatTable(rows));
  print();
  const cross = layers.filter((l) => l.cross);
  print(`${layers.length} attention layers: ${cross.length} cross-attention (keys/values from the ${tokens} tokens), ${layers.length - cross.length} self-attention (keys/values from the pixels)`);
  const example = cross[0];
  if (example) {
    const q = shapes.get(example.query)!;
    const k = shapes.get(example.key)!;
    const s = shapes.get(example.scores)!;
    const heads = s.length === 4 ? s[1]! : s[0]! / batch;
    const inner = q[q.length - 1]!;
    print(
      `in ${example.layer}: each of the ${q[q.length - 2]} latent positions is a query of width ${inner}; ` +
        `the ${k[k.length - 2]} tokens (width ${width}) are projected to keys and values of width ${k[k.length - 1]}; ` +
        `split into ${heads} heads of width ${inner / heads}, the scores ${dims(s)} give every position a weighting over the ${s[s.length - 1]} tokens.`,
    );
    const { query, key, value } = example.weightShapes;
    if (query && key && value) print(`its projections as stored in the graph: W_q ${dims(query)}, W_k ${dims(key)}, W_v ${dims(value)} (W_k and W_v read the ${width}-wide text)`);
  }
  print();
  print(`Stable Diffusion 1.5 at 512×512 (latent 4×64×64, text 77×${SD15_UNET.cross_attention_dim}), the cross-attention of each level from its UNet config:`);
  print(formatTable(sd15CrossAttentionRows()));
  print(`W_k and W_v are the only weights that see the text: ${SD15_UNET.cross_attention_dim} → the level's width. An encoder of another width needs other W_k, W_v (a retrained UNet) or a projection in front.`);
}

runIfScript(module, main);
