/**
 * The one way latentkit opens an onnxruntime session: from the model's path, with latentkit's or
 * onnxruntime's session options, and with {@link ModelLoadError}s that say what is wrong and what
 * to do.
 *
 * Sessions load by path, never from a buffer read here: exports larger than 2 GB keep their
 * weights in external data files (`weights.pb`, `model.onnx_data`) that onnxruntime resolves
 * relative to the model file. Bytes are used only when a caller hands over an edited model.
 */
import { promises as fs, realpathSync } from 'node:fs';
import * as path from 'node:path';
import type * as ort from 'onnxruntime-node';
import { InvalidArgumentError, ModelLoadError, toOrtSessionOptions, type LoadStep, type SessionOptions } from '@latentkit/core';
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
  const { threads, executionProvider, graphOptimizationLevel, prepackWeights, optimizedModelCache: _cache, onLoadStep: _onLoadStep, ...onnxRuntimeOnly } = options;
  const portable = toOrtSessionOptions({ threads, executionProvider, graphOptimizationLevel, prepackWeights });
  // onnxruntime's own `extra` merges into latentkit's entry by entry; its entries win.
  const extra = onnxRuntimeOnly.extra as { session?: Record<string, unknown> } | undefined;
  const merged = portable.extra === undefined || extra === undefined
    ? {}
    : { extra: { ...extra, session: { ...portable.extra.session, ...(extra.session ?? {}) } } };
  return { ...portable, ...onnxRuntimeOnly, ...merged } as ort.InferenceSession.SessionOptions;
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
  return open(file, options, modelBytes === undefined ? {} : { modelBytes });
}

/**
 * Opens the model `file` whose external data (`weights.pb`, …) lies in `weightsFolder` rather
 * than beside it — a UNet segment that `@latentkit/unet` writes to its cache, reading the source
 * model's weights in place. Large models (the weights folder counts) go through the
 * optimized-model cache like any other: the first open saves the optimized graph with its own
 * copy of the weights it reads, later opens load that and skip graph optimization.
 *
 * @example
 * ```ts
 * const session = await openOnnxSessionWithWeights(segmentFile, 'models/sd15/unet', { threads: 2 });
 * ```
 */
export async function openOnnxSessionWithWeights(file: string, weightsFolder: string, options: OnnxSessionOptions = {}): Promise<ort.InferenceSession> {
  if (typeof file !== 'string' || file.length === 0) {
    throw new InvalidArgumentError({ name: 'file', expected: 'the path of a .onnx file', actual: file });
  }
  if (typeof weightsFolder !== 'string' || weightsFolder.length === 0) {
    throw new InvalidArgumentError({ name: 'weightsFolder', expected: "the folder holding the model's external data", actual: weightsFolder });
  }
  let folder: string;
  try {
    // Links resolved: onnxruntime resolves the links of a weights file and refuses one that then
    // lies outside this folder (a folder of links to an export elsewhere would otherwise fail).
    folder = realpathSync(path.resolve(weightsFolder));
  } catch (error) {
    throw new ModelLoadError({ path: weightsFolder, reason: "the folder of the model's external data does not exist", cause: error });
  }
  return open(file, options, { weightsFolder: folder });
}

/** Opens `file` (or `modelBytes`, standing for it; or `file`'s bytes with weights in `weightsFolder`). */
async function open(
  file: string,
  options: OnnxSessionOptions,
  source: { modelBytes?: Uint8Array; weightsFolder?: string },
): Promise<ort.InferenceSession> {
  // Options are checked before the file so that a bad option is reported whatever the path.
  const sessionOptions = toOnnxRuntimeOptions(options);
  const cacheFolder = optimizedModelCacheOf(options);
  const onLoadStep = loadStepListenerOf(options);
  // Loaded here, not at the top: importing @latentkit/onnx (its graph reader, say) must not cost
  // onnxruntime's native binding, so that `latentkit inspect` and `--help` start at once.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ort = require('onnxruntime-node') as typeof import('onnxruntime-node');
  // Timed from just before onnxruntime's create: the awaits before it could let other parts'
  // synchronous session opens run, whose time is theirs.
  let started = performance.now();
  const report = (cache: LoadStep['cache']) => onLoadStep?.({ kind: 'session', file, milliseconds: performance.now() - started, cache });
  if (source.modelBytes !== undefined) {
    try {
      const session = await ort.InferenceSession.create(source.modelBytes, sessionOptions);
      report('skip');
      return session;
    } catch (error) {
      throw new ModelLoadError({ path: file, reason: loadFailureReason(error, sessionOptions), cause: error });
    }
  }
  await assertModelFile(file);
  const { weightsFolder } = source;
  const ortOptions = weightsFolder === undefined ? sessionOptions : withWeightsFolder(sessionOptions, weightsFolder);
  const plan = cacheFolder === false ? undefined : await planCachedSession(file, ortOptions, cacheFolder, undefined, weightsFolder).catch(() => undefined);
  try {
    // A segment is opened from its bytes unless its optimized copy is: onnxruntime then reads
    // its external data from `weightsFolder`, not from the segment's own folder.
    const bytes = weightsFolder !== undefined && plan?.state !== 'hit' ? new Uint8Array(await fs.readFile(file)) : undefined;
    started = performance.now();
    const session = bytes
      ? await ort.InferenceSession.create(bytes, plan?.options ?? ortOptions)
      : await ort.InferenceSession.create(plan?.openFile ?? file, plan?.options ?? ortOptions);
    report(plan?.state ?? 'skip');
    await plan?.commit();
    return session;
  } catch (error) {
    await plan?.abandon();
    if (plan?.state === 'hit') {
      // A damaged cache entry: open the source as if uncached.
      return open(file, { ...options, optimizedModelCache: false }, source);
    }
    throw new ModelLoadError({ path: file, reason: loadFailureReason(error, sessionOptions), cause: error });
  }
}

/** `options` with onnxruntime told to read external data from `folder`. */
function withWeightsFolder(options: ort.InferenceSession.SessionOptions, folder: string): ort.InferenceSession.SessionOptions {
  const extra = (options.extra ?? {}) as Record<string, unknown>;
  const session = (extra.session ?? {}) as Record<string, unknown>;
  return { ...options, extra: { ...extra, session: { ...session, model_external_initializers_file_folder_path: folder } } };
}

/** The load-step listener the options carry, checked. */
function loadStepListenerOf(options: OnnxSessionOptions): ((step: LoadStep) => void) | undefined {
  const value = options.onLoadStep;
  if (value !== undefined && typeof value !== 'function') {
    throw new InvalidArgumentError({ name: 'sessionOptions.onLoadStep', expected: 'a function called with each load step, or undefined', actual: value });
  }
  return value;
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
