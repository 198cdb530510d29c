/**
 * A small view of ONNX files for the examples: the nodes, the stored weights (initializers: name,
 * element type, dims) and the graph's inputs and outputs, plus an edit that adds intermediate
 * tensors to the graph's outputs so that a run reports their real shapes. Decoding and encoding
 * are `@latentkit/onnx`'s (`decodeOnnxModel`, `encodeOnnxModel`); no Python, no onnxruntime.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { OnnxDataType, decodeOnnxModel, encodeOnnxModel } from '@latentkit/onnx';

/** One operator of the graph. */
export interface OnnxNode {
  readonly name: string;
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
}

/** One stored tensor (a weight, or a constant the exporter folded). */
export interface OnnxInitializer {
  readonly name: string;
  /** ONNX `TensorProto.DataType`: 1 float32, 10 float16, 11 float64, 16 bfloat16, 7 int64, … */
  readonly dataType: number;
  readonly dims: readonly number[];
  /** Whether the values live in a separate file (`data_location` = EXTERNAL). */
  readonly external: boolean;
  /** The little-endian bytes of `raw_data`, when stored in the file (a view, not a copy). */
  readonly rawData?: Uint8Array;
}

/** A parsed graph. */
export interface OnnxGraph {
  readonly nodes: readonly OnnxNode[];
  readonly initializers: readonly OnnxInitializer[];
  /** Names of the graph's inputs that are not initializers. */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
}

/** `TensorProto.DataType` values holding real numbers (what a trained weight is stored as). */
export const FLOATING_POINT_TYPES: ReadonlySet<number> = new Set([1, 10, 11, 16]);

/**
 * Parses an ONNX model's graph.
 *
 * @example
 * ```ts
 * const graph = parseOnnxGraph(await fs.readFile('unet/model.onnx'));
 * graph.nodes.filter((n) => n.opType === 'Softmax').length; // attention layers
 * ```
 */
export function parseOnnxGraph(bytes: Uint8Array): OnnxGraph {
  const { graph } = decodeOnnxModel(bytes);
  const initializers = graph.initializers.map((tensor) => ({
    name: tensor.name,
    dataType: tensor.dataType,
    dims: tensor.dims.map(Number),
    external: tensor.dataLocation === 1,
    ...(tensor.data?.field === 'raw_data' ? { rawData: tensor.data.bytes.read() } : {}),
  }));
  const stored = new Set(initializers.map((i) => i.name));
  return {
    nodes: graph.nodes.map(({ name, opType, inputs, outputs }) => ({ name, opType, inputs, outputs })),
    initializers,
    inputs: graph.inputs.map((input) => input.name).filter((name) => !stored.has(name)),
    outputs: graph.outputs.map((output) => output.name),
  };
}

/**
 * The model with more graph outputs: each named intermediate tensor, declared float32 (type
 * only, no shape, so that onnxruntime reports the shape the run produced). Nothing else changes.
 *
 * @example
 * ```ts
 * const edited = withExtraOutputs(bytes, ['/attn2/Softmax_output_0']);
 * const session = await ort.InferenceSession.create(edited);
 * ```
 */
export function withExtraOutputs(bytes: Uint8Array, names: readonly string[]): Uint8Array {
  const model = decodeOnnxModel(bytes);
  const extra = names.map((name) => ({ name, tensorType: { elemType: OnnxDataType.FLOAT } }));
  return encodeOnnxModel({ ...model, graph: { ...model.graph, outputs: [...model.graph.outputs, ...extra] } });
}

/**
 * Where onnxruntime can open an edited model: the bytes themselves, or — when the weights live in
 * external files, which onnxruntime only reads from the model file's own folder — a temporary
 * file beside the original (`.<name>.probe-<pid>.onnx`), or, where that folder is read-only, a
 * temporary copy of the folder. `cleanup()` removes what was written.
 *
 * @example
 * ```ts
 * const { source, cleanup } = await stageEditedModel('unet/model.onnx', edited, graph);
 * const session = await ort.InferenceSession.create(source as string);
 * await cleanup();
 * ```
 */
export async function stageEditedModel(
  modelFile: string,
  edited: Uint8Array,
  graph: OnnxGraph,
): Promise<{ source: Uint8Array | string; cleanup: () => Promise<void> }> {
  if (!graph.initializers.some((i) => i.external)) return { source: edited, cleanup: async () => undefined };
  const original = path.dirname(path.resolve(modelFile));
  const beside = path.join(original, `.${path.basename(modelFile, '.onnx')}.probe-${process.pid}.onnx`);
  try {
    await fs.writeFile(beside, edited);
    return { source: beside, cleanup: () => fs.rm(beside, { force: true }) };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EROFS' && code !== 'EPERM') throw error;
  }
  const folder = await fs.mkdtemp(path.join(os.tmpdir(), 'latentkit-onnx-'));
  for (const entry of await fs.readdir(original)) {
    if (entry !== path.basename(modelFile)) await fs.copyFile(path.join(original, entry), path.join(folder, entry));
  }
  const copy = path.join(folder, path.basename(modelFile));
  await fs.writeFile(copy, edited);
  return { source: copy, cleanup: () => fs.rm(folder, { recursive: true, force: true }) };
}

/**
 * Whether a float32 initializer is an additive attention mask (every value 0 or ≤ −10³ (−10⁴, −10⁹, −∞ are the usual choices), at least
 * one of them negative): a constant the exporter folded (e.g. CLIP's causal mask), not a weight.
 */
export function isAdditiveMask(initializer: OnnxInitializer): boolean {
  const raw = initializer.rawData;
  if (initializer.dataType !== 1 || !raw || raw.length % 4 !== 0) return false;
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  let masked = false;
  for (let offset = 0; offset < raw.length; offset += 4) {
    const value = view.getFloat32(offset, true);
    if (value <= -1e3) masked = true;
    else if (value !== 0) return false;
  }
  return masked;
}

/**
 * Counts the numbers a graph stores as floating-point weights: initializers with more than one
 * element (scalar constants the exporter folded are not parameters), without additive attention
 * masks ({@link isAdditiveMask}). For latentkit-tiny this equals PyTorch's
 * `sum(p.numel() for p in model.parameters())` of each exported module.
 *
 * @example
 * ```ts
 * countParameters(parseOnnxGraph(bytes)); // 6,715,588 for latentkit-tiny's UNet
 * ```
 */
export function countParameters(graph: OnnxGraph): number {
  let total = 0;
  for (const initializer of graph.initializers) {
    const size = initializer.dims.reduce((a, b) => a * b, 1);
    if (FLOATING_POINT_TYPES.has(initializer.dataType) && size > 1 && !isAdditiveMask(initializer)) total += size;
  }
  return total;
}
