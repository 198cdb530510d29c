/**
 * Opening an onnxruntime session for a component, with latentkit's session options and errors.
 *
 * Sessions are created from the model's path, never from a buffer: exports larger than 2 GB keep
 * their weights in external data files (`weights.pb`) that onnxruntime resolves relative to the
 * model file.
 */
import * as ort from 'onnxruntime-node';
import { ModelLoadError, toOrtSessionOptions, type SessionOptions } from '@latentkit/core';

/** One input or output of an ONNX model as onnxruntime describes it. */
export interface OnnxValueInfo {
  readonly name: string;
  /** Element type, e.g. `'float32'`, `'int64'`; undefined when onnxruntime does not say. */
  readonly type?: string;
  /** Dimensions: numbers for fixed sizes, strings for symbolic ones; undefined when unknown. */
  readonly shape?: readonly (number | string)[];
}

/**
 * Opens `modelFile` with latentkit's session options. Failures become a {@link ModelLoadError}
 * that says what to do (a missing file, a CUDA provider that was not installed).
 *
 * @example
 * ```ts
 * const session = await openOnnxSession('models/sd15/unet/model.onnx', { threads: 4 });
 * ```
 */
export async function openOnnxSession(modelFile: string, sessionOptions: SessionOptions = {}): Promise<ort.InferenceSession> {
  const options = toOrtSessionOptions(sessionOptions);
  try {
    return await ort.InferenceSession.create(modelFile, options as ort.InferenceSession.SessionOptions);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const reason =
      options.executionProviders[0] === 'cuda' && /cuda|provider/i.test(message)
        ? `onnxruntime could not start the CUDA execution provider (${message}): install onnxruntime-node with its CUDA binaries ` +
          '(ONNXRUNTIME_NODE_INSTALL=cuda12 npm install onnxruntime-node) or use executionProvider: \'cpu\''
        : `onnxruntime could not open it (${message})`;
    throw new ModelLoadError({ path: modelFile, reason, cause: error });
  }
}

/** The model's inputs as onnxruntime reports them (names only on versions without metadata). */
export function describeInputs(session: ort.InferenceSession): OnnxValueInfo[] {
  return describe(session.inputNames, (session as { inputMetadata?: unknown }).inputMetadata);
}

/** The model's outputs as onnxruntime reports them. */
export function describeOutputs(session: ort.InferenceSession): OnnxValueInfo[] {
  return describe(session.outputNames, (session as { outputMetadata?: unknown }).outputMetadata);
}

function describe(names: readonly string[], metadata: unknown): OnnxValueInfo[] {
  const list = Array.isArray(metadata) ? (metadata as { name?: string; type?: string; shape?: (number | string)[] }[]) : [];
  return names.map((name) => {
    const found = list.find((m) => m.name === name);
    return { name, type: found?.type, shape: found?.shape };
  });
}

/** A fixed dimension of a value, or undefined when it is symbolic or unknown. */
export function fixedDimension(info: OnnxValueInfo | undefined, axis: number): number | undefined {
  const value = info?.shape?.[axis];
  return typeof value === 'number' && value > 0 ? value : undefined;
}
