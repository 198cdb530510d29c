/**
 * The plugins through which `fromPretrained()` loads a multilingual encoder from a model folder:
 * slot `text_encoder_multilingual` (`["diffusers", "OnnxRuntimeModel"]`), or a `text_encoder`
 * entry naming a non-CLIP transformers class, with the tokenizer from `tokenizer_multilingual/`.
 */
import * as path from 'node:path';
import {
  exists,
  type ComponentEntry,
  type ComponentSource,
  type Plugin,
  type PluginRegistry,
  type SupportAnswer,
} from '@latentkit/core';
import { defineTokenizerPlugin, nonClipModelType, pluginRegistrar, requireOnnxModel, tokenizerFolderOf } from '@latentkit/encoder-utils';
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

const MULTILINGUAL_TOKENIZER_CLASSES = [
  'PreTrainedTokenizerFast',
  'XLMRobertaTokenizer',
  'XLMRobertaTokenizerFast',
  'BertTokenizer',
  'BertTokenizerFast',
  'T5Tokenizer',
  'T5TokenizerFast',
];

/**
 * Above CLIP's default 0: a `text_encoder*` slot that both plugins claim (`text_encoder_multilingual`
 * without a config.json to say what it holds) is this plugin's, as the registry orders by priority.
 */
const MULTILINGUAL_PRIORITY = 10;

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
  priority: MULTILINGUAL_PRIORITY,
  supports: supportsMultilingualEncoder,
  async create(source, options = {}) {
    await requireOnnxModel(source, 'export the encoder to ONNX with outputs last_hidden_state [batch, sequence, width]');
    const tokenizerDir = tokenizerFolderOf(source);
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
export const multilingualTokenizerPlugin: Plugin<MultilingualTokenizer, MultilingualTokenizerOptions> = defineTokenizerPlugin({
  name: 'multilingual-tokenizer',
  classes: MULTILINGUAL_TOKENIZER_CLASSES,
  describe: `tokenizer.json tokenizers (${MULTILINGUAL_TOKENIZER_CLASSES.join(', ')})`,
  load: (folder, options: MultilingualTokenizerOptions) => MultilingualTokenizer.fromPretrained(folder, options),
});

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
export const register: (registry?: PluginRegistry) => PluginRegistry = pluginRegistrar(multilingualTextEncoderPlugin, multilingualTokenizerPlugin);
