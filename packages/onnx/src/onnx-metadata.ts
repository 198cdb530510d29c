/**
 * What an open onnxruntime session says about its graph's inputs and outputs: names always,
 * element types and shapes where onnxruntime-node reports them (`inputMetadata` /
 * `outputMetadata`, from 1.23). Components read these to check a graph against its config.
 */
import type * as ort from 'onnxruntime-node';

/**
 * One input or output of an ONNX model as onnxruntime describes it.
 *
 * @example
 * ```ts
 * const sample: OnnxValueInfo = { name: 'sample', type: 'float32', shape: ['batch', 4, 'height', 'width'] };
 * ```
 */
export interface OnnxValueInfo {
  readonly name: string;
  /** Element type, e.g. `'float32'`, `'int64'`; undefined when onnxruntime does not say. */
  readonly type?: string;
  /** Dimensions: numbers for fixed sizes, strings for symbolic ones; undefined when unknown. */
  readonly shape?: readonly (number | string)[];
}

interface ReportedValue {
  name?: string;
  type?: string;
  shape?: (number | string)[];
}

/**
 * The model's inputs in graph order (names only on onnxruntime versions without metadata).
 *
 * @example
 * ```ts
 * describeInputs(session); // [{ name: 'sample', type: 'float32', shape: ['batch', 4, 64, 64] }, …]
 * ```
 */
export function describeInputs(session: ort.InferenceSession): OnnxValueInfo[] {
  return describe(session.inputNames, (session as { inputMetadata?: unknown }).inputMetadata);
}

/**
 * The model's outputs in graph order.
 *
 * @example
 * ```ts
 * describeOutputs(session)[0]?.name; // 'out_sample'
 * ```
 */
export function describeOutputs(session: ort.InferenceSession): OnnxValueInfo[] {
  return describe(session.outputNames, (session as { outputMetadata?: unknown }).outputMetadata);
}

function describe(names: readonly string[], metadata: unknown): OnnxValueInfo[] {
  const reported = Array.isArray(metadata) ? (metadata as ReportedValue[]) : [];
  return names.map((name) => {
    const found = reported.find((value) => value.name === name);
    return { name, type: found?.type, shape: found?.shape };
  });
}

/**
 * A fixed dimension of a value, or undefined when it is symbolic, unknown or not positive
 * (some exporters write 0 or -1 for a free axis).
 *
 * @example
 * ```ts
 * fixedDimension({ name: 'sample', shape: ['batch', 4, 64, 64] }, 1); // 4
 * fixedDimension({ name: 'sample', shape: ['batch', 4, 64, 64] }, 0); // undefined
 * ```
 */
export function fixedDimension(info: OnnxValueInfo | undefined, axis: number): number | undefined {
  const value = info?.shape?.[axis];
  return typeof value === 'number' && value > 0 ? value : undefined;
}

/**
 * The declared shape of a session's input or output named `name`, when onnxruntime reports it.
 *
 * @example
 * ```ts
 * declaredShape(decoder, 'latent_sample', 'input'); // ['batch', 4, 'height', 'width']
 * ```
 */
export function declaredShape(session: ort.InferenceSession, name: string, side: 'input' | 'output'): readonly (number | string)[] | undefined {
  const values = side === 'input' ? describeInputs(session) : describeOutputs(session);
  return values.find((value) => value.name === name)?.shape;
}
