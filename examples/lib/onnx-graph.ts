/**
 * A small reader of ONNX files, enough for the examples to look inside a model without Python:
 * the nodes, the stored weights (initializers: name, element type, dims) and the graph's inputs
 * and outputs, plus an edit that adds intermediate tensors to the graph's outputs so that a run
 * reports their real shapes.
 *
 * An `.onnx` file is a protobuf `ModelProto` (onnx/onnx.proto): field 7 holds the `GraphProto`,
 * whose fields are `node` (1), `initializer` (5), `input` (11) and `output` (12). A `NodeProto` has
 * `input` (1), `output` (2), `name` (3), `op_type` (4); a `TensorProto` has `dims` (1),
 * `data_type` (2), `name` (8) and `data_location` (14; 1 = external file). Only the wire format is
 * decoded: no protobuf library and no onnxruntime needed.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { protobufText, readProtobufFields, readVarint, type ProtobufField } from '@latentkit/onnx';

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

const integer = (bytes: Uint8Array, span: ProtobufField) => readVarint(bytes, span.start)[0];
const text = protobufText;

function graphSpan(bytes: Uint8Array): ProtobufField {
  const graph = readProtobufFields(bytes, 0, bytes.length).find((s) => s.number === 7 && s.wire === 2);
  if (!graph) throw new RangeError('not an ONNX model: no graph (ModelProto field 7)');
  return graph;
}

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
  const graph = graphSpan(bytes);
  const nodes: OnnxNode[] = [];
  const initializers: OnnxInitializer[] = [];
  const inputs: string[] = [];
  const outputs: string[] = [];
  for (const span of readProtobufFields(bytes, graph.start, graph.end)) {
    if (span.wire !== 2) continue;
    if (span.number === 1) {
      const parts = readProtobufFields(bytes, span.start, span.end);
      const name = parts.find((p) => p.number === 3);
      const op = parts.find((p) => p.number === 4);
      nodes.push({
        name: name ? text(bytes, name) : '',
        opType: op ? text(bytes, op) : '',
        inputs: parts.filter((p) => p.number === 1).map((p) => text(bytes, p)),
        outputs: parts.filter((p) => p.number === 2).map((p) => text(bytes, p)),
      });
    } else if (span.number === 5) {
      const dims: number[] = [];
      let dataType = 0;
      let name = '';
      let external = false;
      let rawData: Uint8Array | undefined;
      for (const part of readProtobufFields(bytes, span.start, span.end)) {
        if (part.number === 1 && part.wire === 0) dims.push(integer(bytes, part));
        else if (part.number === 1 && part.wire === 2) {
          for (let p = part.start; p < part.end; ) {
            const [dim, next] = readVarint(bytes, p);
            dims.push(dim);
            p = next;
          }
        } else if (part.number === 2) dataType = integer(bytes, part);
        else if (part.number === 8) name = text(bytes, part);
        else if (part.number === 14) external = integer(bytes, part) === 1;
        else if (part.number === 9 && part.wire === 2) rawData = bytes.subarray(part.start, part.end);
      }
      initializers.push({ name, dataType, dims, external, ...(rawData ? { rawData } : {}) });
    } else if (span.number === 11 || span.number === 12) {
      const nameSpan = readProtobufFields(bytes, span.start, span.end).find((p) => p.number === 1);
      (span.number === 11 ? inputs : outputs).push(nameSpan ? text(bytes, nameSpan) : '');
    }
  }
  const stored = new Set(initializers.map((i) => i.name));
  return { nodes, initializers, inputs: inputs.filter((name) => !stored.has(name)), outputs };
}

function writeVarint(value: number): number[] {
  const out: number[] = [];
  while (value >= 0x80) {
    out.push((value % 128) | 0x80);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return out;
}

function field(number: number, payload: readonly number[] | Uint8Array): number[] {
  return [...writeVarint(number * 8 + 2), ...writeVarint(payload.length), ...payload];
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
  const graph = graphSpan(bytes);
  const float32 = field(1, [...writeVarint(1 * 8), 1]); // TypeProto.tensor_type { elem_type: FLOAT }
  const extra = names.flatMap((name) => field(12, [...field(1, new TextEncoder().encode(name)), ...field(2, float32)]));
  const payload = new Uint8Array(graph.end - graph.start + extra.length);
  payload.set(bytes.subarray(graph.start, graph.end));
  payload.set(extra, graph.end - graph.start);
  const header = [...writeVarint(7 * 8 + 2), ...writeVarint(payload.length)];
  const edited = new Uint8Array(graph.keyStart + header.length + payload.length + (bytes.length - graph.end));
  edited.set(bytes.subarray(0, graph.keyStart));
  edited.set(header, graph.keyStart);
  edited.set(payload, graph.keyStart + header.length);
  edited.set(bytes.subarray(graph.end), graph.keyStart + header.length + payload.length);
  return edited;
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
