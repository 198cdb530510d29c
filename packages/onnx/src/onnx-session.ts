/**
 * The one way latentkit opens an onnxruntime session: from the model's path, with latentkit's or
 * onnxruntime's session options, and with {@link ModelLoadError}s that say what is wrong and what
 * to do.
 *
 * Sessions load by path, never from a buffer read here: exports larger than 2 GB keep their
 * weights in external data files (`weights.pb`, `model.onnx_data`) that onnxruntime resolves
 * relative to the model file. Bytes are used only when a caller hands over an edited model.
 */
import { promises as fs } from 'node:fs';
import type * as ort from 'onnxruntime-node';
import { InvalidArgumentError, ModelLoadError, toOrtSessionOptions, type SessionOptions } from '@latentkit/core';
import { defaultCacheFolder, planCachedSession } from './optimized-model-cache';

/**
 * Session options a component accepts: latentkit's portable {@link SessionOptions}
 * (`threads`, `executionProvider`, `graphOptimizationLevel`), onnxruntime's own
 * `InferenceSession.SessionOptions`, or a mix (onnxruntime's keys win).
 *
 * @example
 * ```ts
 * const options: OnnxSessionOptions = { threads: 4, logSeverityLevel: 3 };
 * ```
 */
export type OnnxSessionOptions = SessionOptions & ort.InferenceSession.SessionOptions;

/**
 * Validates latentkit's portable options and merges them into onnxruntime's.
 * Throws an {@link InvalidArgumentError} naming the bad field.
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
  const { threads, executionProvider, graphOptimizationLevel, optimizedModelCache: _cache, ...onnxRuntimeOnly } = options;
  const portable = toOrtSessionOptions({ threads, executionProvider, graphOptimizationLevel });
  return { ...portable, ...onnxRuntimeOnly } as ort.InferenceSession.SessionOptions;
}

/**
 * Opens an onnxruntime session for `file`, or for `modelBytes` (an edited copy of it) when given;
 * `file` then only names the model in errors.
 *
 * Throws an {@link InvalidArgumentError} for a bad argument, and a {@link ModelLoadError} naming
 * `file` when it is missing, is a folder, is not a valid ONNX model, or asks for a CUDA provider
 * that this onnxruntime-node build lacks (onnxruntime's own message is kept in the reason and as
 * the `cause`).
 *
 * @example
 * ```ts
 * const session = await openOnnxSession('models/sd15/text_encoder/model.onnx', { threads: 4 });
 * session.inputNames; // ['input_ids']
 * await session.release();
 * ```
 */
export async function openOnnxSession(file: string, options: OnnxSessionOptions = {}, modelBytes?: Uint8Array): Promise<ort.InferenceSession> {
  if (typeof file !== 'string' || file.length === 0) {
    throw new InvalidArgumentError({ name: 'file', expected: 'the path of a .onnx file', actual: file });
  }
  if (modelBytes !== undefined && !(modelBytes instanceof Uint8Array)) {
    throw new InvalidArgumentError({ name: 'modelBytes', expected: 'a Uint8Array holding an ONNX model, or undefined to load the file', actual: modelBytes });
  }
  // Options are checked before the file so that a bad option is reported whatever the path.
  const sessionOptions = toOnnxRuntimeOptions(options);
  const cacheFolder = optimizedModelCacheOf(options);
  // Loaded here, not at the top: importing @latentkit/onnx (its graph reader, say) must not cost
  // onnxruntime's native binding, so that `latentkit inspect` and `--help` start at once.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ort = require('onnxruntime-node') as typeof import('onnxruntime-node');
  if (modelBytes !== undefined) {
    try {
      return await ort.InferenceSession.create(modelBytes, sessionOptions);
    } catch (error) {
      throw new ModelLoadError({ path: file, reason: loadFailureReason(error, sessionOptions), cause: error });
    }
  }
  await assertModelFile(file);
  const plan = cacheFolder === false ? undefined : await planCachedSession(file, sessionOptions, cacheFolder).catch(() => undefined);
  try {
    const session = await ort.InferenceSession.create(plan?.openFile ?? file, plan?.options ?? sessionOptions);
    await plan?.commit();
    return session;
  } catch (error) {
    await plan?.abandon();
    if (plan?.state === 'hit') {
      // A damaged cache entry: open the source as if uncached.
      return openOnnxSession(file, { ...options, optimizedModelCache: false });
    }
    throw new ModelLoadError({ path: file, reason: loadFailureReason(error, sessionOptions), cause: error });
  }
}

/** The cache folder the options ask for, or false. */
function optimizedModelCacheOf(options: OnnxSessionOptions): string | false {
  const value = options.optimizedModelCache;
  if (value === false) return false;
  if (value === undefined) return defaultCacheFolder();
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidArgumentError({ name: 'sessionOptions.optimizedModelCache', expected: 'a folder path, or false for no cache', actual: value });
  }
  return value;
}

async function assertModelFile(file: string): Promise<void> {
  let stat;
  try {
    stat = await fs.stat(file);
  } catch (error) {
    throw new ModelLoadError({ path: file, reason: 'the ONNX model file does not exist', cause: error });
  }
  if (!stat.isFile()) {
    throw new ModelLoadError({ path: file, reason: 'it is a directory, not an ONNX model file: pass the path of model.onnx' });
  }
}

/** Why onnxruntime refused the model, and the fix: a CUDA provider that is not installed, or a bad file. */
function loadFailureReason(error: unknown, sessionOptions: ort.InferenceSession.SessionOptions): string {
  const detail = (error instanceof Error ? error.message : String(error)).trim();
  const firstProvider = sessionOptions.executionProviders?.[0];
  const providerName = typeof firstProvider === 'string' ? firstProvider : firstProvider?.name;
  if (providerName === 'cuda' && /cuda|provider/i.test(detail)) {
    return (
      `onnxruntime could not start the CUDA execution provider (${detail}): install onnxruntime-node with its CUDA binaries ` +
      "(ONNXRUNTIME_NODE_INSTALL=cuda12 npm install onnxruntime-node) or use executionProvider: 'cpu'"
    );
  }
  return `onnxruntime cannot load it as an ONNX model (${detail}): re-export the model, and keep any external weights file beside it`;
}
