/**
 * @latentkit/model-tiny — latentkit-tiny, a small model with Stable Diffusion's four parts, trained by
 * the latentkit project on procedural shapes ("a red circle on a blue background"), in the diffusers
 * ONNX layout. It is the default model of `StableDiffusionPipeline.fromPretrained()` and the CLI.
 *
 * @example
 * ```ts
 * import { modelPath } from '@latentkit/model-tiny';
 * const pipeline = await StableDiffusionPipeline.fromPretrained(modelPath);
 * ```
 *
 * @packageDocumentation
 */
import * as path from 'node:path';

/** Absolute path of the model folder (the one holding `model_index.json`). */
export const modelPath: string = path.resolve(__dirname, '..', 'model');

/** Absolute path of the model card. */
export const modelCardPath: string = path.resolve(__dirname, '..', 'MODEL_CARD.md');

/** The text encoders the folder ships, by the name `fromPretrained(…, { textEncoder })` takes. */
export const textEncoders = {
  /** The English encoder over the real CLIP tokenizer (slot `text_encoder`). */
  clip: { encoder: 'text_encoder', tokenizer: 'tokenizer' },
  /** English, French, Spanish, German and Chinese (slot `text_encoder_multilingual`). */
  multilingual: { encoder: 'text_encoder_multilingual', tokenizer: 'tokenizer_multilingual' },
} as const;
