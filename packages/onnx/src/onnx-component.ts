/**
 * The two steps every ONNX component's `fromPretrained` shares: finding its folder (a model
 * folder holding `<slot>/model.onnx`, or the component's own folder) with its `config.json`, and
 * turning an opened session into the component without leaking the session when that fails.
 */
import * as path from 'node:path';
import type * as ort from 'onnxruntime-node';
import { InvalidArgumentError, exists, readJsonObject, type JsonObject } from '@latentkit/core';
import { openOnnxSession, type OnnxSessionOptions } from './onnx-session';

/** Where one ONNX component lives. */
export interface OnnxComponentFolder {
  /** The component's folder (`<model>/<slot>`, or the folder given when it is the component's own). */
  readonly componentDir: string;
  /** The folder around it, where sibling slots (`tokenizer/`, `scheduler/`) are found. */
  readonly parentDir: string;
  /** `componentDir/model.onnx` (whether or not it exists). */
  readonly modelFile: string;
  /** `componentDir/config.json` (whether or not it exists). */
  readonly configFile: string;
  /** The parsed `config.json`, or `{}` when there is none. */
  readonly config: JsonObject;
}

/**
 * Resolves `folder` as a model folder holding `<slot>/model.onnx`, else as the component's own
 * folder, and reads its `config.json` (a {@link ModelLoadError} naming the file when it is not
 * valid JSON).
 *
 * @example
 * ```ts
 * const { modelFile, config } = await resolveOnnxComponent('models/sd15', 'unet'); // models/sd15/unet/model.onnx
 * ```
 */
export async function resolveOnnxComponent(folder: string, slot: string): Promise<OnnxComponentFolder> {
  if (typeof folder !== 'string' || folder.length === 0) {
    throw new InvalidArgumentError({ name: 'folder', expected: `the path of a model folder or of its ${String(slot)}/ folder`, actual: folder });
  }
  if (typeof slot !== 'string' || slot.length === 0) {
    throw new InvalidArgumentError({ name: 'slot', expected: "a model_index.json slot name such as 'unet'", actual: slot });
  }
  const componentDir = (await exists(path.join(folder, slot, 'model.onnx'))) ? path.join(folder, slot) : folder;
  const configFile = path.join(componentDir, 'config.json');
  return {
    componentDir,
    parentDir: path.dirname(componentDir),
    modelFile: path.join(componentDir, 'model.onnx'),
    configFile,
    config: (await exists(configFile)) ? await readJsonObject(configFile) : {},
  };
}

/**
 * Opens a session for `modelFile` and builds a component from it; when `build` throws, the session
 * is released before the error goes on, so a refused model holds no onnxruntime memory.
 *
 * @example
 * ```ts
 * const unet = await withOnnxSession(modelFile, { threads: 4 }, (session) => OnnxUNet.fromSession(session, modelFile, config));
 * ```
 */
export async function withOnnxSession<T>(
  modelFile: string,
  sessionOptions: OnnxSessionOptions | undefined,
  build: (session: ort.InferenceSession) => T | Promise<T>,
): Promise<T> {
  if (typeof build !== 'function') {
    throw new InvalidArgumentError({ name: 'build', expected: 'a function (session) => component', actual: build });
  }
  const session = await openOnnxSession(modelFile, sessionOptions);
  try {
    return await build(session);
  } catch (error) {
    await session.release();
    throw error;
  }
}
