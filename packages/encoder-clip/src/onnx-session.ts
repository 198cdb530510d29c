/**
 * One way to open an onnxruntime session: from a file path, with latentkit's or onnxruntime's
 * session options, and with {@link ModelLoadError}s that say what is wrong with the file.
 */
import { promises as fs } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { InvalidArgumentError, ModelLoadError, toOrtSessionOptions, type SessionOptions } from '@latentkit/core';

/**
 * Session options a component accepts: latentkit's portable {@link SessionOptions}
 * (`threads`, `executionProvider`, `graphOptimizationLevel`), onnxruntime's own
 * `InferenceSession.SessionOptions`, or a mix (onnxruntime's keys win).
 */
export type OnnxSessionOptions = SessionOptions & ort.InferenceSession.SessionOptions;

/**
 * Merges latentkit's portable options into onnxruntime's.
 *
 * @example
 * ```ts
 * toOnnxRuntimeOptions({ threads: 2 }); // { executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: 2, … }
 * ```
 */
export function toOnnxRuntimeOptions(options: OnnxSessionOptions = {}): ort.InferenceSession.SessionOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError({ name: 'sessionOptions', expected: 'an object such as { threads: 4 }', actual: options });
  }
  const { threads, executionProvider, graphOptimizationLevel, ...onnxRuntimeOnly } = options;
  const portable = toOrtSessionOptions({ threads, executionProvider, graphOptimizationLevel });
  return { ...portable, ...onnxRuntimeOnly } as ort.InferenceSession.SessionOptions;
}

/**
 * Creates an onnxruntime session for a model file.
 *
 * Throws a {@link ModelLoadError} when the file is missing, is a folder, or is not a valid ONNX
 * model (onnxruntime's own message is kept as the reason's detail and the `cause`).
 *
 * @example
 * ```ts
 * const session = await createOnnxSession('models/sd15/text_encoder/model.onnx', { threads: 4 });
 * session.inputNames; // ['input_ids']
 * await session.release();
 * ```
 */
export async function createOnnxSession(file: string, options: OnnxSessionOptions = {}): Promise<ort.InferenceSession> {
  if (typeof file !== 'string' || file.length === 0) {
    throw new InvalidArgumentError({ name: 'file', expected: 'the path of a .onnx file', actual: file });
  }
  let stat;
  try {
    stat = await fs.stat(file);
  } catch (error) {
    throw new ModelLoadError({ path: file, reason: 'the ONNX model file does not exist', cause: error });
  }
  if (!stat.isFile()) {
    throw new ModelLoadError({ path: file, reason: 'it is a directory, not an ONNX model file: pass the path of model.onnx' });
  }
  const sessionOptions = toOnnxRuntimeOptions(options);
  try {
    return await ort.InferenceSession.create(file, sessionOptions);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new ModelLoadError({
      path: file,
      reason: `onnxruntime cannot load it as an ONNX model (${detail.trim()}): re-export the model, and keep any external weights file beside it`,
      cause: error,
    });
  }
}
