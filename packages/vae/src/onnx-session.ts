/**
 * Opening an onnxruntime session for a VAE half, with latentkit's session options and errors.
 * Sessions load by path so that external data files resolve beside the model.
 */
import * as ort from 'onnxruntime-node';
import { ModelLoadError, toOrtSessionOptions, type SessionOptions } from '@latentkit/core';

/**
 * Opens `modelFile` (or its edited bytes, `modelBytes`) with latentkit's session options; failures
 * become a {@link ModelLoadError} naming the file.
 *
 * @example
 * ```ts
 * const decoder = await openOnnxSession('models/sd15/vae_decoder/model.onnx', { threads: 4 });
 * ```
 */
export async function openOnnxSession(modelFile: string, sessionOptions: SessionOptions = {}, modelBytes?: Uint8Array): Promise<ort.InferenceSession> {
  const options = toOrtSessionOptions(sessionOptions);
  try {
    const ortOptions = options as ort.InferenceSession.SessionOptions;
    return await (modelBytes ? ort.InferenceSession.create(modelBytes, ortOptions) : ort.InferenceSession.create(modelFile, ortOptions));
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

/** The declared shape of a session's input or output, when onnxruntime reports it. */
export function declaredShape(session: ort.InferenceSession, name: string, side: 'input' | 'output'): readonly (number | string)[] | undefined {
  const metadata = (session as unknown as Record<string, unknown>)[side === 'input' ? 'inputMetadata' : 'outputMetadata'];
  if (!Array.isArray(metadata)) return undefined;
  return (metadata as { name?: string; shape?: (number | string)[] }[]).find((m) => m.name === name)?.shape;
}
