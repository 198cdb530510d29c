/**
 * The plugins through which `fromPretrained()` loads a multilingual encoder from a model folder:
 * slot `text_encoder_multilingual` (`["diffusers", "OnnxRuntimeModel"]`), or a `text_encoder`
 * entry naming a non-CLIP transformers class, with the tokenizer from `tokenizer_multilingual/`.
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
import { nonClipModelType } from '@latentkit/encoder-clip';
import { MultilingualTextEncoder, type MultilingualTextEncoderOptions } from './multilingual-text-encoder';
import { MultilingualTokenizer, type MultilingualTokenizerOptions } from './multilingual-tokenizer';

/**
 * transformers classes of per-token encoders that replace CLIP (AltDiffusion, Taiyi, …), once exported to ONNX.
 *
 * @example
 * ```ts
 * NON_CLIP_TEXT_ENCODER_CLASSES.includes('RobertaSeriesModelWithTransformation'); // true
 * ```
 */
export const NON_CLIP_TEXT_ENCODER_CLASSES: readonly string[] = [
  'RobertaSeriesModelWithTransformation',
  'XLMRobertaModel',
  'RobertaModel',
  'BertModel',
  'MT5EncoderModel',
  'T5EncoderModel',
];

/** Pooled-only encoders: refused, with the reason. */
const POOLED_ONLY_CLASSES = new Set(['MultilingualCLIP', 'MCLIPModel', 'SentenceTransformer']);

const MULTILINGUAL_TOKENIZER_CLASSES = new Set([
  'PreTrainedTokenizerFast',
  'XLMRobertaTokenizer',
  'XLMRobertaTokenizerFast',
  'BertTokenizer',
  'BertTokenizerFast',
  'T5Tokenizer',
  'T5TokenizerFast',
]);

function supportsMultilingualEncoder(entry: ComponentEntry, source?: ComponentSource): SupportAnswer {
  const pair = JSON.stringify([entry.library, entry.className]);
  if (entry.className !== null && POOLED_ONLY_CLASSES.has(entry.className)) {
    return { reason: `${entry.className} outputs one vector per prompt; the UNet's cross-attention needs per-token states` };
  }
  if (entry.slot === 'text_encoder_multilingual' && entry.library !== null) return true;
  if (entry.slot.startsWith('text_encoder') && entry.className !== null && NON_CLIP_TEXT_ENCODER_CLASSES.includes(entry.className)) return true;
  // An ONNX export in the default slot (AltDiffusion, Taiyi converted to ONNX) says what it is in its config.json.
  if (entry.slot.startsWith('text_encoder') && entry.className === 'OnnxRuntimeModel' && nonClipModelType(source?.config) !== undefined) return true;
  return {
    reason:
      `it loads slot 'text_encoder_multilingual', a non-CLIP encoder class (${NON_CLIP_TEXT_ENCODER_CLASSES.join(', ')}) ` +
      `or an ONNX export whose config.json names a non-CLIP model_type, not ${pair} in slot '${entry.slot}'`,
  };
}

/**
 * The multilingual text-encoder plugin. `create()` options are {@link MultilingualTextEncoderOptions}.
 *
 * @example
 * ```ts
 * import { registry } from '@latentkit/core';
 * import { register } from '@latentkit/encoder-multilingual';
 * register(registry);
 * ```
 */
export const multilingualTextEncoderPlugin: Plugin<MultilingualTextEncoder, MultilingualTextEncoderOptions> = Object.freeze({
  name: 'multilingual-text-encoder',
  specificationVersion: 'v1',
  kind: 'text-encoder',
  supports: supportsMultilingualEncoder,
  async create(source, options = {}) {
    if (!(await exists(path.join(source.componentPath, 'model.onnx')))) {
      throw new ModelLoadError({
        path: source.componentPath,
        reason: `'${source.entry.slot}' has no model.onnx: export the encoder to ONNX with outputs last_hidden_state [batch, sequence, width]`,
      });
    }
    const tokenizerDir = path.join(source.modelPath, source.entry.slot.replace('text_encoder', 'tokenizer'));
    const tokenizer =
      options.tokenizer ??
      ((await exists(path.join(source.componentPath, 'tokenizer.json')))
        ? undefined
        : (await exists(path.join(tokenizerDir, 'tokenizer.json')))
          ? await MultilingualTokenizer.fromPretrained(tokenizerDir)
          : undefined);
    return MultilingualTextEncoder.fromPretrained(source.componentPath, { ...options, tokenizer });
  },
} satisfies Plugin<MultilingualTextEncoder, MultilingualTextEncoderOptions>);

/**
 * The text-encoder plugin of this package under the name the conventions give it.
 *
 * @example
 * ```ts
 * registry.register(textEncoderPlugin);
 * ```
 */
export const textEncoderPlugin = multilingualTextEncoderPlugin;

/**
 * The tokenizer plugin for `tokenizer.json`-based tokenizers (`["tokenizers", "PreTrainedTokenizerFast"]`,
 * XLM-R, BERT, T5). `create()` options are {@link MultilingualTokenizerOptions}.
 *
 * @example
 * ```ts
 * registry.register(multilingualTokenizerPlugin);
 * ```
 */
export const multilingualTokenizerPlugin: Plugin<MultilingualTokenizer, MultilingualTokenizerOptions> = Object.freeze({
  name: 'multilingual-tokenizer',
  specificationVersion: 'v1',
  kind: 'tokenizer',
  supports(entry: ComponentEntry): SupportAnswer {
    if (entry.className !== null && MULTILINGUAL_TOKENIZER_CLASSES.has(entry.className)) return true;
    return { reason: `it loads tokenizer.json tokenizers (${[...MULTILINGUAL_TOKENIZER_CLASSES].join(', ')}), not ${JSON.stringify([entry.library, entry.className])}` };
  },
  create(source, options = {}) {
    return MultilingualTokenizer.fromPretrained(source.componentPath, options);
  },
} satisfies Plugin<MultilingualTokenizer, MultilingualTokenizerOptions>);

/**
 * The tokenizer plugin of this package under the name the conventions give it.
 *
 * @example
 * ```ts
 * registry.register(tokenizerPlugin);
 * ```
 */
export const tokenizerPlugin = multilingualTokenizerPlugin;

/**
 * Registers the multilingual text-encoder and tokenizer plugins (in the process-wide registry by
 * default). Registering twice is a no-op.
 *
 * @example
 * ```ts
 * import { register } from '@latentkit/encoder-multilingual';
 * register();
 * ```
 */
export function register(registry: PluginRegistry = defaultRegistry): PluginRegistry {
  return registry.register(multilingualTextEncoderPlugin).register(multilingualTokenizerPlugin);
}
