/**
 * The plugins through which `fromPretrained()` loads CLIP from a diffusers model folder:
 * `text_encoder: ["diffusers", "OnnxRuntimeModel"]` (diffusers' ONNX layout), or
 * `["transformers", "CLIPTextModel"]` when the folder holds a `model.onnx`, and
 * `tokenizer: ["transformers", "CLIPTokenizer"]`.
 */
import {
  ModelLoadError,
  exists,
  type ComponentEntry,
  type ComponentSource,
  type Plugin,
  type PluginRegistry,
  type SupportAnswer,
} from '@latentkit/core';
import { defineTokenizerPlugin, nonClipModelType, pluginRegistrar, requireOnnxModel, tokenizerFolderOf } from '@latentkit/encoder-utils';
import { CLIPTextEncoder, type CLIPTextEncoderOptions } from './clip-text-encoder';
import { CLIPTokenizer, type CLIPTokenizerOptions } from './clip-tokenizer';

const CLIP_TEXT_CLASSES = new Set(['CLIPTextModel', 'CLIPTextModelWithProjection']);

/**
 * CLIP's claim: a `text_encoder*` slot holding an ONNX export or a transformers CLIP class, unless
 * its config.json names another `model_type`. Which plugin loads a slot that others claim too
 * (`text_encoder_multilingual`) is the registry's choice by priority: this one has the default 0.
 */
function supportsClipTextEncoder(entry: ComponentEntry, source?: ComponentSource): SupportAnswer {
  const pair = JSON.stringify([entry.library, entry.className]);
  if (!entry.slot.startsWith('text_encoder')) return { reason: `it loads CLIP text encoders in 'text_encoder*' slots, not slot '${entry.slot}'` };
  const onnx = entry.library === 'diffusers' && entry.className === 'OnnxRuntimeModel';
  if (!onnx && !(entry.library === 'transformers' && entry.className !== null && CLIP_TEXT_CLASSES.has(entry.className))) {
    return { reason: `it loads ["diffusers", "OnnxRuntimeModel"] or ["transformers", "CLIPTextModel"] exported to ONNX, not ${pair}` };
  }
  const modelType = nonClipModelType(source?.config);
  if (modelType !== undefined) return { reason: `its config.json says model_type '${modelType}', not a CLIP text model` };
  return true;
}

/**
 * The CLIP text-encoder plugin. `create()` options are {@link CLIPTextEncoderOptions}.
 *
 * @example
 * ```ts
 * import { registry } from '@latentkit/core';
 * import { clipTextEncoderPlugin } from '@latentkit/encoder-clip';
 * registry.register(clipTextEncoderPlugin);
 * ```
 */
export const clipTextEncoderPlugin: Plugin<CLIPTextEncoder, CLIPTextEncoderOptions> = Object.freeze({
  name: 'clip-text-encoder',
  specificationVersion: 'v1',
  kind: 'text-encoder',
  supports: supportsClipTextEncoder,
  async create(source, options = {}) {
    await requireOnnxModel(source, "export the text encoder to ONNX (e.g. with diffusers' convert_stable_diffusion_checkpoint_to_onnx.py)");
    const modelType = nonClipModelType(source.config);
    if (modelType !== undefined) {
      throw new ModelLoadError({
        path: source.componentPath,
        reason:
          `its config.json says model_type '${modelType}', not a CLIP text model: register @latentkit/encoder-multilingual, ` +
          `whose plugin the registry then picks for it`,
      });
    }
    const tokenizerDir = tokenizerFolderOf(source);
    const tokenizer = options.tokenizer ?? ((await exists(tokenizerDir)) ? await CLIPTokenizer.fromPretrained(tokenizerDir) : undefined);
    return CLIPTextEncoder.fromPretrained(source.componentPath, { ...options, tokenizer });
  },
} satisfies Plugin<CLIPTextEncoder, CLIPTextEncoderOptions>);

/**
 * The text-encoder plugin of this package under the name the conventions give it.
 *
 * @example
 * ```ts
 * registry.register(textEncoderPlugin);
 * ```
 */
export const textEncoderPlugin = clipTextEncoderPlugin;

/**
 * The CLIP tokenizer plugin (`["transformers", "CLIPTokenizer"]`). `create()` options are {@link CLIPTokenizerOptions}.
 *
 * @example
 * ```ts
 * registry.register(clipTokenizerPlugin);
 * ```
 */
export const clipTokenizerPlugin: Plugin<CLIPTokenizer, CLIPTokenizerOptions> = defineTokenizerPlugin({
  name: 'clip-tokenizer',
  classes: ['CLIPTokenizer', 'CLIPTokenizerFast'],
  describe: '["transformers", "CLIPTokenizer" | "CLIPTokenizerFast"]',
  load: (folder, options: CLIPTokenizerOptions) => CLIPTokenizer.fromPretrained(folder, options),
});

/**
 * The tokenizer plugin of this package under the name the conventions give it.
 *
 * @example
 * ```ts
 * registry.register(tokenizerPlugin);
 * ```
 */
export const tokenizerPlugin = clipTokenizerPlugin;

/**
 * Registers the CLIP text-encoder and tokenizer plugins (in the process-wide registry by
 * default). Registering twice is a no-op.
 *
 * @example
 * ```ts
 * import { register } from '@latentkit/encoder-clip';
 * register();
 * ```
 */
export const register: (registry?: PluginRegistry) => PluginRegistry = pluginRegistrar(clipTextEncoderPlugin, clipTokenizerPlugin);
