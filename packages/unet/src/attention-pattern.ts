/**
 * Finds the attention subgraphs of a UNet export so that they can run in `@latentkit/native`'s
 * fused kernel instead of onnxruntime's MatMul → Softmax → MatMul (which materialises the whole
 * `[batch·heads, Nq, Nk]` score matrix: 1 GB per self-attention at SD 1.5's 64×64 level).
 *
 * Recognised layouts (all as exported by torch.onnx from diffusers' `Attention`):
 * - diffusers' converter with `AttnProcessor` (`head_to_batch_dim` → `[B·H, N, D]`):
 *   Reshape [B,N,H,D] → Transpose(0,2,1,3) → Reshape [B·H,N,D]; K also Transpose(0,2,1);
 *   `baddbmm(zeros, Q, Kᵀ, beta=0, alpha=scale)` → MatMul, Mul(scale), Add(ConstantOfShape·0);
 *   Softmax → Cast → MatMul(·, V) → Reshape [B,H,N,D] → Transpose(0,2,1,3) → Reshape [B,N,H·D];
 * - the 4-D head layout (`AttnProcessor2_0` / optimum, and latentkit's embedded model):
 *   Q, V: Reshape [B,N,H,D] → Transpose(0,2,1,3); K: Transpose(0,2,3,1), or (0,2,1,3) then (0,1,3,2);
 *   the scale as Mul/Div after the MatMul, or √scale on each of Q and Kᵀ (torch's export of
 *   scaled_dot_product_attention, with √(1/√d) computed from Q's shape when no scale is given);
 *   Softmax → MatMul(·, V) → Transpose(0,2,1,3) → Reshape [B,N,H·D];
 * - `com.microsoft` MultiHeadAttention with separate 3-D query, key and value and no bias or mask.
 *
 * Graphs exported in float16 match the same way (their scale constants are float16, and Casts
 * between float32 and float16 around the softmax are absorbed); the kernel then computes in
 * float32 from the float16 Q, K and V, and its output is rounded to float16 (segmented-session.ts).
 *
 * Anything else (an additive mask such as CLIP's causal one, packed QKV, a bias) is not matched,
 * and the graph keeps it in onnxruntime.
 */
import type { DecodedModel, DecodedTensor, GraphNode } from './onnx-graph-codec';

/** One attention call found in a graph. */
export interface AttentionMatch {
  /** A readable name: the score MatMul's or MultiHeadAttention node's name. */
  readonly name: string;
  /** Q `[batch, Nq, heads·headDim]` before the head split. */
  readonly query: string;
  /** K `[batch, Nk, heads·headDim]`. */
  readonly key: string;
  /** V `[batch, Nk, heads·headDim]`. */
  readonly value: string;
  /** The output after the head merge, `[batch, Nq, heads·headDim]`. */
  readonly output: string;
  readonly heads: number;
  /** The factor on Q·Kᵀ; undefined means 1/√headDim (known only at run time). */
  readonly scale: number | undefined;
  /** `'cross'` when K comes straight from `encoder_hidden_states` through a projection, else `'self'`. */
  readonly kind: 'self' | 'cross';
  /** Indices of the nodes the match replaces (the head-shape computations die with them). */
  readonly nodes: readonly number[];
}

/** Producer and consumer look-ups over a decoded graph. */
class GraphIndex {
  readonly producer = new Map<string, GraphNode>();
  readonly consumers = new Map<string, GraphNode[]>();

  constructor(readonly model: DecodedModel) {
    for (const node of model.nodes) {
      for (const output of node.outputs) this.producer.set(output, node);
      for (const input of node.inputs) {
        if (input === '') continue;
        const list = this.consumers.get(input) ?? [];
        list.push(node);
        this.consumers.set(input, list);
      }
    }
  }

  /** The node producing `tensor` if it has type `opType`. */
  from(tensor: string | undefined, opType: string): GraphNode | undefined {
    if (tensor === undefined) return undefined;
    const node = this.producer.get(tensor);
    return node?.opType === opType && node.domain === '' ? node : undefined;
  }

  /** The only non-Shape consumer of `tensor` if it has type `opType`. */
  to(tensor: string, opType: string): GraphNode | undefined {
    const users = (this.consumers.get(tensor) ?? []).filter((n) => n.opType !== 'Shape');
    return users.length === 1 && users[0]!.opType === opType && users[0]!.domain === '' ? users[0] : undefined;
  }

  /** A constant's values: an initializer, a Constant node, or a chain of Unsqueeze/Cast over one. */
  constant(tensor: string | undefined): readonly number[] | undefined {
    if (tensor === undefined) return undefined;
    const initializer = this.model.initializers.get(tensor);
    if (initializer) return initializer.tensor.values;
    const node = this.producer.get(tensor);
    if (node === undefined) return undefined;
    if (node.opType === 'Constant') return (node.attributes.get('value') as DecodedTensor | undefined)?.values;
    if (node.opType === 'Unsqueeze' || node.opType === 'Cast' || node.opType === 'Identity') return this.constant(node.inputs[0]);
    return undefined;
  }

  scalar(tensor: string | undefined): number | undefined {
    const values = this.constant(tensor);
    return values !== undefined && values.length === 1 ? values[0] : undefined;
  }
}

function permOf(node: GraphNode): string {
  const perm = node.attributes.get('perm');
  return Array.isArray(perm) ? perm.join(',') : '';
}

/** A Reshape whose shape's element `axis` is a constant; that value (the head count), or undefined. */
function reshapeElement(index: GraphIndex, reshape: GraphNode, axis: number): number | undefined {
  const whole = index.constant(reshape.inputs[1]);
  if (whole !== undefined) return whole[axis];
  const concat = index.from(reshape.inputs[1], 'Concat');
  if (concat === undefined || concat.inputs.length <= axis) return undefined;
  return index.scalar(concat.inputs[axis]);
}

interface Split {
  source: string;
  heads: number;
  nodes: GraphNode[];
}

/**
 * Undoes a head split: `tensor` is Q or V (`perm` 0,2,1,3) or Kᵀ (`transposedKey`), in either
 * head layout; returns the `[B, N, H·D]` tensor it came from.
 */
function headSplit(index: GraphIndex, tensor: string, transposedKey: boolean): Split | undefined {
  const nodes: GraphNode[] = [];
  let current = tensor;
  let keyTransposed = !transposedKey;
  // 3-D layout: [B·H, N, D] ← Reshape ← Transpose(0,2,1,3) ← Reshape ← source.
  const threeDTranspose = transposedKey ? index.from(current, 'Transpose') : undefined;
  if (threeDTranspose && permOf(threeDTranspose) === '0,2,1') {
    const inner = index.from(threeDTranspose.inputs[0], 'Reshape');
    if (inner && index.from(inner.inputs[0], 'Transpose')) {
      nodes.push(threeDTranspose);
      current = threeDTranspose.inputs[0]!;
      keyTransposed = true;
    }
  }
  const batchReshape = index.from(current, 'Reshape');
  if (batchReshape && index.from(batchReshape.inputs[0], 'Transpose') && permOf(index.from(batchReshape.inputs[0], 'Transpose')!) === '0,2,1,3') {
    if (transposedKey && !keyTransposed) return undefined;
    nodes.push(batchReshape);
    current = batchReshape.inputs[0]!;
    keyTransposed = true;
  }
  let transpose = index.from(current, 'Transpose');
  if (transpose === undefined) return undefined;
  if (!keyTransposed && permOf(transpose) === '0,1,3,2') {
    nodes.push(transpose);
    keyTransposed = true;
    transpose = index.from(transpose.inputs[0], 'Transpose');
    if (transpose === undefined) return undefined;
  }
  const perm = permOf(transpose);
  if (perm === '0,2,3,1' && !keyTransposed) keyTransposed = true;
  else if (perm !== '0,2,1,3') return undefined;
  if (!keyTransposed) return undefined;
  nodes.push(transpose);
  const split = index.from(transpose.inputs[0], 'Reshape');
  if (split === undefined) return undefined;
  const heads = reshapeElement(index, split, 2);
  if (heads === undefined || !Number.isInteger(heads) || heads < 1) return undefined;
  nodes.push(split);
  return { source: split.inputs[0]!, heads, nodes };
}

/** Ops that may compute a scale from a tensor's shape (torch's `scaled_dot_product_attention` export). */
const SHAPE_ARITHMETIC = new Set(['Sqrt', 'Div', 'Mul', 'Reciprocal', 'Cast', 'Slice', 'Gather', 'Shape', 'Constant', 'Unsqueeze', 'Squeeze']);

/**
 * True when `tensor` is computed only from constants and tensor shapes: the `√(1/√d)` that torch's
 * export of `scaled_dot_product_attention` (no explicit scale) multiplies Q and Kᵀ by.
 */
function isShapeDerivedScale(index: GraphIndex, tensor: string): boolean {
  const seen = new Set<string>();
  let reachesShape = false;
  const visit = (name: string): boolean => {
    if (seen.has(name)) return true;
    seen.add(name);
    if (index.model.initializers.has(name)) return true;
    const node = index.producer.get(name);
    if (node === undefined || node.domain !== '' || !SHAPE_ARITHMETIC.has(node.opType)) return false;
    if (node.opType === 'Shape') {
      reachesShape = true;
      return true;
    }
    return node.inputs.every((input) => input === '' || visit(input));
  };
  return index.producer.get(tensor)?.opType === 'Sqrt' && visit(tensor) && reachesShape;
}

/**
 * Follows Mul/Div by scalar constants (and float Casts); returns the tensor before them, their
 * product, and the shape-derived `√(1/√d)` factors met (see {@link isShapeDerivedScale}).
 */
function peelScale(index: GraphIndex, tensor: string): { tensor: string; scale: number; nodes: GraphNode[]; derived: string[] } {
  let scale = 1;
  let current = tensor;
  const nodes: GraphNode[] = [];
  const derived: string[] = [];
  for (;;) {
    const node = index.producer.get(current);
    if (node === undefined || node.domain !== '') break;
    if (node.opType === 'Cast' && isFloatCast(node)) {
      nodes.push(node);
      current = node.inputs[0]!;
      continue;
    }
    if (node.opType !== 'Mul' && node.opType !== 'Div') break;
    const right = index.scalar(node.inputs[1]);
    const left = node.opType === 'Mul' ? index.scalar(node.inputs[0]) : undefined;
    if (right !== undefined && right !== 0) {
      scale *= node.opType === 'Mul' ? right : 1 / right;
      current = node.inputs[0]!;
    } else if (left !== undefined && left !== 0) {
      scale *= left;
      current = node.inputs[1]!;
    } else if (node.opType === 'Mul' && isShapeDerivedScale(index, node.inputs[1]!)) {
      derived.push(node.inputs[1]!);
      current = node.inputs[0]!;
    } else if (node.opType === 'Mul' && isShapeDerivedScale(index, node.inputs[0]!)) {
      derived.push(node.inputs[0]!);
      current = node.inputs[1]!;
    } else break;
    nodes.push(node);
  }
  return { tensor: current, scale, nodes, derived };
}

/**
 * A Cast to float32 or float16: the kernel computes in float32 whatever the graph's precision,
 * so such Casts around the scores and probabilities (a float16 export's `upcast_softmax`, its
 * `.to(dtype)` after the softmax) are part of the attention it replaces.
 */
function isFloatCast(node: GraphNode): boolean {
  const to = node.attributes.get('to');
  return to === 1 || to === 10;
}

/** `Add(x, zeros·0)`: baddbmm's `beta = 0` term; returns x and the nodes, else undefined. */
function peelZeroBias(index: GraphIndex, tensor: string): { tensor: string; nodes: GraphNode[] } | undefined {
  const add = index.from(tensor, 'Add');
  if (add === undefined) return undefined;
  for (const [keep, bias] of [[0, 1], [1, 0]] as const) {
    const mul = index.from(add.inputs[bias], 'Mul');
    if (mul === undefined) continue;
    const zero = index.scalar(mul.inputs[1]) === 0 ? 1 : index.scalar(mul.inputs[0]) === 0 ? 0 : -1;
    if (zero < 0) continue;
    const nodes = [add, mul];
    const filler = index.from(mul.inputs[1 - zero], 'ConstantOfShape');
    if (filler) nodes.push(filler);
    return { tensor: add.inputs[keep]!, nodes };
  }
  return undefined;
}

function isFromText(index: GraphIndex, tensor: string): boolean {
  // K = MatMul(encoder_hidden_states, W) (maybe through a Cast); self-attention's K comes from image tokens.
  const node = index.producer.get(tensor);
  if (node === undefined) return false;
  return node.inputs.some((input) => input === 'encoder_hidden_states' || (index.from(input, 'Cast')?.inputs[0] === 'encoder_hidden_states'));
}

function matchSoftmax(index: GraphIndex, softmax: GraphNode): AttentionMatch | undefined {
  // Over the last axis only: -1, or no axis from opset 13 on (before 13 the default was 1, over a flattened tail).
  const axis = softmax.attributes.get('axis');
  const opset = index.model.opsetImports.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 0;
  if (axis === undefined ? opset < 13 : axis !== -1) return undefined;
  // Backwards from the softmax: scale, baddbmm's zero bias, scale again, to the score MatMul.
  const nodes: GraphNode[] = [softmax];
  let scale = 1;
  let scaled = peelScale(index, softmax.inputs[0]!);
  const scoreDerived = [...scaled.derived];
  nodes.push(...scaled.nodes);
  scale *= scaled.scale;
  const zeroBias = peelZeroBias(index, scaled.tensor);
  if (zeroBias) {
    nodes.push(...zeroBias.nodes);
    scaled = peelScale(index, zeroBias.tensor);
    scoreDerived.push(...scaled.derived);
    nodes.push(...scaled.nodes);
    scale *= scaled.scale;
  }
  const scores = index.from(scaled.tensor, 'MatMul');
  if (scores === undefined) return undefined;
  nodes.push(scores);
  const queryScaled = peelScale(index, scores.inputs[0]!);
  const keyScaled = peelScale(index, scores.inputs[1]!);
  nodes.push(...queryScaled.nodes, ...keyScaled.nodes);
  scale *= queryScaled.scale * keyScaled.scale;
  // torch's scaled_dot_product_attention export: √(1/√d) on each of Q and Kᵀ, from Q's shape,
  // which together are the kernel's default 1/√d. Any other use of a shape-derived factor is not matched.
  const derived = [...scoreDerived, ...queryScaled.derived, ...keyScaled.derived];
  let defaultScale = false;
  if (derived.length > 0) {
    if (derived.length !== 2 || queryScaled.derived.length !== 1 || keyScaled.derived.length !== 1 || derived[0] !== derived[1] || scale !== 1) return undefined;
    defaultScale = true;
  }
  const query = headSplit(index, queryScaled.tensor, false);
  const key = headSplit(index, keyScaled.tensor, true);
  if (query === undefined || key === undefined || query.heads !== key.heads) return undefined;
  // Forwards: (Cast) → MatMul(·, V) → head merge.
  let probabilities = softmax.outputs[0]!;
  const cast = index.to(probabilities, 'Cast');
  if (cast && isFloatCast(cast)) {
    nodes.push(cast);
    probabilities = cast.outputs[0]!;
  }
  const weighted = index.to(probabilities, 'MatMul');
  if (weighted === undefined || weighted.inputs[0] !== probabilities) return undefined;
  nodes.push(weighted);
  const value = headSplit(index, weighted.inputs[1]!, false);
  if (value === undefined || value.heads !== query.heads) return undefined;
  let merged = weighted.outputs[0]!;
  const unbatch = index.to(merged, 'Reshape');
  if (unbatch) {
    nodes.push(unbatch);
    merged = unbatch.outputs[0]!;
  }
  const mergeTranspose = index.to(merged, 'Transpose');
  if (mergeTranspose === undefined || permOf(mergeTranspose) !== '0,2,1,3') return undefined;
  const mergeReshape = index.to(mergeTranspose.outputs[0]!, 'Reshape');
  if (mergeReshape === undefined) return undefined;
  nodes.push(mergeTranspose, mergeReshape);
  nodes.push(...query.nodes, ...key.nodes, ...value.nodes);
  return {
    name: scores.name || softmax.name,
    query: query.source,
    key: key.source,
    value: value.source,
    output: mergeReshape.outputs[0]!,
    heads: query.heads,
    scale: defaultScale ? undefined : scale,
    kind: isFromText(index, key.source) ? 'cross' : 'self',
    nodes: [...new Set(nodes.map((n) => n.index))].sort((a, b) => a - b),
  };
}

function matchMultiHeadAttention(index: GraphIndex, node: GraphNode): AttentionMatch | undefined {
  const [query, key, value, ...rest] = node.inputs;
  if (query === undefined || !key || !value || rest.some((input) => input !== '') || node.outputs.filter((o) => o !== '').length !== 1) return undefined;
  const heads = node.attributes.get('num_heads');
  if (typeof heads !== 'number' || heads < 1) return undefined;
  if (node.attributes.has('unidirectional') && node.attributes.get('unidirectional') !== 0) return undefined;
  const scale = node.attributes.get('scale');
  return {
    name: node.name,
    query,
    key,
    value,
    output: node.outputs[0]!,
    heads,
    scale: typeof scale === 'number' && scale !== 0 ? scale : undefined,
    kind: isFromText(index, key) ? 'cross' : 'self',
    nodes: [node.index],
  };
}

/**
 * Every attention subgraph of `model` that the fused kernel can run, in graph order. A match
 * whose inner tensors something else also reads is dropped (the graph keeps it).
 *
 * @example
 * ```ts
 * const matches = findAttention(decodeModel(bytes));
 * matches[0]; // { query: '/down_blocks.0/…/to_q/MatMul_output_0', heads: 8, scale: 0.158, kind: 'self', … }
 * ```
 */
export function findAttention(model: DecodedModel): AttentionMatch[] {
  const index = new GraphIndex(model);
  const matches: AttentionMatch[] = [];
  for (const node of model.nodes) {
    let match: AttentionMatch | undefined;
    if (node.opType === 'Softmax' && node.domain === '') match = matchSoftmax(index, node);
    else if (node.opType === 'MultiHeadAttention' && node.domain === 'com.microsoft') match = matchMultiHeadAttention(index, node);
    if (match && !leaksInnerTensor(index, match)) matches.push(match);
  }
  return matches;
}

/** True when a node outside the match (other than a Shape) reads a tensor the match computes internally. */
function leaksInnerTensor(index: GraphIndex, match: AttentionMatch): boolean {
  const inside = new Set(match.nodes);
  for (const nodeIndex of match.nodes) {
    for (const output of index.model.nodes[nodeIndex]!.outputs) {
      if (output === match.output) continue;
      for (const user of index.consumers.get(output) ?? []) {
        if (!inside.has(user.index) && user.opType !== 'Shape') return true;
      }
      if (index.model.outputs.some((o) => o.name === output)) return true;
    }
  }
  return false;
}
