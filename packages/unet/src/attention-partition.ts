/**
 * Splits a graph around its attention calls: every node the attention matches do not replace is
 * assigned to the earliest segment in which all its inputs exist (graph inputs and weights exist
 * from the start; an attention's output exists after the segment that produced its Q, K and V).
 * Segments then run in order, each attention call between the segment that completes its inputs
 * and the next one. Weights are shared by reference: each segment carries only the initializers
 * its nodes read, with their external-data references intact. `Constant` nodes are copied into
 * every segment that reads them, so no constant travels between segments.
 */
import type { AttentionMatch } from './attention-pattern';
import type { OnnxTensor } from '@latentkit/onnx';
import { encodeSegmentModel, type DecodedModel, type GraphNode } from './onnx-graph-codec';

/** One step of a partitioned run. */
export type PartitionStep =
  | { readonly kind: 'segment'; readonly segment: number; readonly inputs: readonly string[]; readonly outputs: readonly string[] }
  | { readonly kind: 'attention'; readonly attention: number };

/** The plan: segment models, attention calls and the order to run them in. */
export interface AttentionPartition {
  readonly attention: readonly AttentionMatch[];
  /** Encoded ModelProtos, one per segment. */
  readonly segments: readonly Uint8Array[];
  readonly steps: readonly PartitionStep[];
  /** The graph's outputs, in order. */
  readonly outputs: readonly string[];
}

/** ONNX element types: what each op's output is, from its inputs (enough for SD UNet exports). */
function inferElementTypes(model: DecodedModel): Map<string, number> {
  const types = new Map<string, number>(model.valueTypes);
  for (const input of model.inputs) types.set(input.name, input.elemType || 1);
  for (const [name, { tensor }] of model.initializers) types.set(name, tensor.dataType);
  for (const node of model.nodes) {
    const first = types.get(node.inputs[0] ?? '') ?? 1;
    let type: number;
    switch (node.opType) {
      case 'Shape': case 'Size': case 'NonZero': case 'ArgMax': case 'ArgMin': type = 7; break;
      case 'Cast': type = node.attributes.get('to') as number; break;
      case 'Constant': type = (node.attributes.get('value') as { dataType?: number } | undefined)?.dataType ?? 1; break;
      case 'ConstantOfShape': type = (node.attributes.get('value') as { dataType?: number } | undefined)?.dataType ?? 1; break;
      case 'Equal': case 'Less': case 'Greater': case 'LessOrEqual': case 'GreaterOrEqual': case 'Not': case 'And': case 'Or': case 'IsNaN': case 'IsInf': type = 9; break;
      case 'Where': type = types.get(node.inputs[1] ?? '') ?? 1; break;
      default: type = first;
    }
    for (const output of node.outputs) if (!types.has(output)) types.set(output, type);
  }
  return types;
}

/** Nodes needed for the graph's outputs once the matches are replaced, or the first match that cannot be. */
function liveNodes(model: DecodedModel, matches: readonly AttentionMatch[]): { live: Set<number> } | { conflict: number } {
  const removed = new Map<number, number>();
  matches.forEach((match, at) => match.nodes.forEach((node) => removed.set(node, at)));
  const byOutput = new Map(matches.map((match, at) => [match.output, at]));
  const needed = new Set(model.outputs.map((o) => o.name));
  const need = (tensor: string): void => {
    if (needed.has(tensor)) return;
    needed.add(tensor);
    const attention = byOutput.get(tensor);
    if (attention !== undefined) for (const input of [matches[attention]!.query, matches[attention]!.key, matches[attention]!.value]) need(input);
  };
  for (const output of [...needed]) {
    needed.delete(output);
    need(output);
  }
  const live = new Set<number>();
  for (let i = model.nodes.length - 1; i >= 0; i--) {
    const node = model.nodes[i]!;
    const outputs = node.outputs.filter((output) => needed.has(output) && !byOutput.has(output));
    if (outputs.length === 0) continue;
    const owner = removed.get(i);
    if (owner !== undefined) return { conflict: owner };
    live.add(i);
    for (const input of node.inputs) if (input !== '') need(input);
  }
  return { live };
}

/**
 * Plans the segmented run of `model` with `matches` done outside onnxruntime. Matches whose
 * inner tensors the rest of the graph still needs are dropped (and stay in the graph).
 *
 * @example
 * ```ts
 * const partition = partitionAroundAttention(model, findAttention(model));
 * partition.segments.length; // attention depth + 1 (33 for SD 1.5)
 * ```
 */
export function partitionAroundAttention(model: DecodedModel, found: readonly AttentionMatch[]): AttentionPartition {
  let matches = [...found];
  let live: Set<number>;
  for (;;) {
    const result = liveNodes(model, matches);
    if ('live' in result) {
      live = result.live;
      break;
    }
    matches = matches.filter((_, at) => at !== result.conflict);
  }
  const types = inferElementTypes(model);
  const producedBy = new Map<string, GraphNode>();
  for (const index of live) for (const output of model.nodes[index]!.outputs) producedBy.set(output, model.nodes[index]!);
  const attentionOf = new Map(matches.map((match, at) => [match.output, at]));

  // Stages: a tensor's stage is the segment that produces it (attention outputs: the one after).
  const stage = new Map<string, number>();
  const stageOf = (tensor: string): number => {
    const known = stage.get(tensor);
    if (known !== undefined) return known;
    const attention = attentionOf.get(tensor);
    if (attention === undefined) return 0; // graph input, weight or Constant
    const match = matches[attention]!;
    const value = Math.max(stageOf(match.query), stageOf(match.key), stageOf(match.value)) + 1;
    stage.set(tensor, value);
    return value;
  };
  const nodeStage = new Map<number, number>();
  for (const node of model.nodes) {
    if (!live.has(node.index) || node.opType === 'Constant') continue;
    const at = Math.max(0, ...node.inputs.filter((input) => input !== '').map(stageOf));
    nodeStage.set(node.index, at);
    for (const output of node.outputs) stage.set(output, at);
  }
  const segmentCount = Math.max(0, ...nodeStage.values(), ...matches.map((m) => stageOf(m.output))) + 1;

  // Who reads each tensor: segments (by stage) and attention calls.
  const readers = new Map<string, Set<number | 'attention' | 'output'>>();
  const addReader = (tensor: string, reader: number | 'attention' | 'output'): void => {
    const set = readers.get(tensor) ?? new Set();
    set.add(reader);
    readers.set(tensor, set);
  };
  for (const [index, at] of nodeStage) for (const input of model.nodes[index]!.inputs) if (input !== '') addReader(input, at);
  for (const match of matches) for (const input of [match.query, match.key, match.value]) addReader(input, 'attention');
  for (const output of model.outputs) addReader(output.name, 'output');

  const constants = new Map<string, GraphNode>();
  for (const node of model.nodes) if (node.opType === 'Constant' && live.has(node.index)) for (const output of node.outputs) constants.set(output, node);

  const segments: Uint8Array[] = [];
  const steps: PartitionStep[] = [];
  for (let s = 0; s < segmentCount; s++) {
    const nodes = model.nodes.filter((node) => nodeStage.get(node.index) === s);
    if (nodes.length > 0) {
      const produced = new Set(nodes.flatMap((node) => node.outputs));
      const inputs: string[] = [];
      const initializers: OnnxTensor[] = [];
      const copiedConstants: GraphNode[] = [];
      const seen = new Set<string>();
      for (const node of nodes) {
        for (const input of node.inputs) {
          if (input === '' || produced.has(input) || seen.has(input)) continue;
          seen.add(input);
          const initializer = model.initializers.get(input);
          const constant = constants.get(input);
          if (initializer) initializers.push(initializer.source);
          else if (constant) copiedConstants.push(constant);
          else inputs.push(input);
        }
      }
      const outputs = [...produced].filter((tensor) => {
        const set = readers.get(tensor);
        return set !== undefined && [...set].some((reader) => reader !== s);
      });
      const ordered = [...copiedConstants.sort((a, b) => a.index - b.index), ...nodes];
      segments.push(encodeSegmentModel(model, {
        name: `latentkit segment ${segments.length}`,
        nodes: ordered,
        initializers,
        inputs: inputs.map((name) => ({ name, elemType: types.get(name) ?? 1 })),
        outputs: outputs.map((name) => ({ name, elemType: types.get(name) ?? 1 })),
      }));
      steps.push({ kind: 'segment', segment: segments.length - 1, inputs, outputs });
    }
    matches.forEach((match, at) => {
      if (stageOf(match.output) === s + 1) steps.push({ kind: 'attention', attention: at });
    });
  }
  return { attention: matches, segments, steps, outputs: model.outputs.map((o) => o.name) };
}
