/**
 * @latentkit/encoder-clip — CLIP's tokenizer (id for id with HuggingFace) and the ONNX CLIP text
 * encoder of Stable Diffusion, as latentkit plugins.
 *
 * @packageDocumentation
 */
import { openOnnxSession } from '@latentkit/onnx';

export * from './clip-vocabulary';
export * from './clip-tokenizer-json';
export * from './clip-tokenizer';
export * from './onnx-initializers';
export * from './clip-final-layer-norm';
export * from './prompt-weighting';
export * from './clip-graph-interface';
export * from './clip-prompt-rows';
export * from './clip-text-encoder';
export * from './clip-plugins';

// The tokenizer helpers and the model_type rule moved to @latentkit/encoder-utils, below both encoder
// plugins; these keep code written against earlier releases compiling.
export {
  createHuggingFaceTokenizer,
  readTokenizerSettings,
  toWellFormed,
  nonClipModelType,
  type HuggingFaceTokenizer,
  type TokenizerSettings,
} from '@latentkit/encoder-utils';

// The session helper moved to @latentkit/onnx; these keep code written against earlier releases compiling.
export { toOnnxRuntimeOptions, type OnnxSessionOptions } from '@latentkit/onnx';

/**
 * Opens an onnxruntime session with latentkit's or onnxruntime's options.
 *
 * @deprecated The helper moved to `@latentkit/onnx`: import `openOnnxSession` from there.
 * @example
 * ```ts
 * import { openOnnxSession } from '@latentkit/onnx';
 * const session = await openOnnxSession('text_encoder/model.onnx', { threads: 4 });
 * ```
 */
export const createOnnxSession: typeof openOnnxSession = openOnnxSession;
