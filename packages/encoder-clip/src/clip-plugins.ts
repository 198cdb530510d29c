/**
 * The plugins through which `fromPretrained()` loads CLIP from a diffusers model folder:
 * `text_encoder: ["diffusers", "OnnxRuntimeModel"]` (diffusers' ONNX layout), or
 * `["transformers", "CLIPTextModel"]` when the folder holds a `model.onnx`, and
 * `tokenizer: ["transformers", "CLIPTokenizer"]`.
 */
import * as path from 'node:path';
import {
  ModelLoadError,
  exists,
  registry as defaultRegistry,
  type ComponentEntry,
  type ComponentSource,
  type Plugin,
  type PluginRegistry,
  type SupportAnswer,
} from '@latentkit/core';
import { CLIPTextEncoder, type CLIPTextEncoderOptions } from './clip-text-encoder';
import { CLIPTokenizer, type CLIPTokenizerOptions } from './clip-tokenizer';

const CLIP_TEXT_CLASSES = new Set(['CLIPTextModel', 'CLIPTextModelWithProjection']);
const CLIP_TOKENIZER_CLASSES = new Set(['CLIPTokenizer', 'CLIPTokenizerFast']);

/**
 * The `model_type` a component's `config.json` names when it is not a CLIP text model (`'bert'`,
 * `'xlm-roberta'`, …), else undefined (CLIP, or no config to say). An ONNX export names no
 * architecture in `model_index.json`, so this is how plugins tell CLIP from other encoders.
 *
 * @example
 * ```ts
 * nonClipModelType({ model_type: 'xlm-roberta' }); // 'xlm-roberta'
 * nonClipModelType({ model_type: 'clip_text_model' }); // undefined
 * ```
 */
export function nonClipModelType(config: Readonly<Record<string, unknown>> | undefined): string | undefined {
  const modelType = config?.model_type;
  return typeof modelType === 'string' && !modelType.startsWith('clip') ? modelType : undefined;
}

function supportsClipTextEncoder(entry: ComponentEntry, source?: ComponentSource): SupportAnswer {
  const pair = JSON.stringify([entry.library, entry.className]);
  if (!entry.slot.startsWith('text_encoder') || entry.slot === 'text_encoder_multilingual') {
    return { reason: `it loads CLIP text encoders in slot 'text_encoder', not slot '${entry.slot}'` };
  }
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
    const modelFile = path.join(source.componentPath, 'model.onnx');
    if (!(await exists(modelFile))) {
      throw new ModelLoadError({
        path: source.componentPath,
        reason: `'${source.entry.slot}' has no model.onnx: export the text encoder to ONNX (e.g. with diffusers' convert_stable_diffusion_checkpoint_to_onnx.py)`,
      });
    }
    const modelType = nonClipModelType(source.config);
    if (modelType !== undefined) {
      throw new ModelLoadError({
        path: source.componentPath,
        reason:
          `its config.json says model_type '${modelType}', not a CLIP text model: register @latentkit/encoder-multilingual, ` +
          `whose plugin the registry then picks for it`,
      });
    }
    const tokenizerDir = path.join(source.modelPath, source.entry.slot.replace('text_encoder', 'tokenizer'));
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
export const clipTokenizerPlugin: Plugin<CLIPTokenizer, CLIPTokenizerOptions> = Object.freeze({
  name: 'clip-tokenizer',
  specificationVersion: 'v1',
  kind: 'tokenizer',
  supports(entry: ComponentEntry): SupportAnswer {
    if (entry.className !== null && CLIP_TOKENIZER_CLASSES.has(entry.className)) return true;
    return { reason: `it loads ["transformers", "CLIPTokenizer" | "CLIPTokenizerFast"], not ${JSON.stringify([entry.library, entry.className])}` };
  },
  create(source, options = {}) {
    return CLIPTokenizer.fromPretrained(source.componentPath, options);
  },
} satisfies Plugin<CLIPTokenizer, CLIPTokenizerOptions>);

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
export function register(registry: PluginRegistry = defaultRegistry): PluginRegistry {
  return registry.register(clipTextEncoderPlugin).register(clipTokenizerPlugin);
}
