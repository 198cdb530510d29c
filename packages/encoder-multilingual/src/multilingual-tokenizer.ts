/**
 * `MultilingualTokenizer`: any HuggingFace `tokenizer.json` that `@huggingface/tokenizers` loads
 * (XLM-R's SentencePiece Unigram, BERT's WordPiece, BPE), with the padding and truncation that
 * `transformers` applies for `padding="max_length", truncation=True`.
 *
 * Truncation keeps the special tokens: the prompt's own tokens are cut to `maxLength` minus the
 * number the post-processor adds (`[CLS] … [SEP]`, `<s> … </s>`), then the template is applied.
 */
import * as path from 'node:path';
import {
  InvalidArgumentError,
  ModelLoadError,
  readJsonObject,
  type JsonObject,
  type TokenizeOptions,
  type TokenizedText,
  type Tokenizer,
} from '@latentkit/core';
import { createHuggingFaceTokenizer, readTokenizerSettings, toWellFormed, type HuggingFaceTokenizer } from '@latentkit/encoder-utils';

export interface MultilingualTokenizerOptions {
  /** Overrides `model_max_length` (77 for encoders that replace CLIP). */
  maxLength?: number;
}

interface PaddingSettings {
  readonly pad_id?: unknown;
  readonly direction?: unknown;
  readonly strategy?: unknown;
}

/**
 * A tokenizer for non-CLIP text encoders, read from `tokenizer.json`.
 *
 * @example
 * ```ts
 * const tokenizer = await MultilingualTokenizer.fromPretrained('models/tiny/tokenizer_multilingual');
 * tokenizer.encode('un chat rouge', { padding: false }); // [2, 31, 44, 40, 3]
 * ```
 */
export class MultilingualTokenizer implements Tokenizer {
  readonly specificationVersion = 'v1' as const;
  readonly maxLength: number;
  readonly padTokenId: number;
  /** Id given to tokens missing from the vocabulary. */
  readonly unknownTokenId: number | undefined;
  /** How many special tokens the template adds to one prompt (2 for `[CLS] $A [SEP]`). */
  readonly specialTokenCount: number;
  private readonly backend: HuggingFaceTokenizer;
  private readonly padLeft: boolean;

  private constructor(backend: HuggingFaceTokenizer, fields: { maxLength: number; padTokenId: number; unknownTokenId?: number; padLeft: boolean }) {
    this.backend = backend;
    this.maxLength = fields.maxLength;
    this.padTokenId = fields.padTokenId;
    this.unknownTokenId = fields.unknownTokenId;
    this.padLeft = fields.padLeft;
    this.specialTokenCount = backend.post_processor ? backend.post_processor([], null, true).tokens.length : 0;
  }

  /** Loads `tokenizer.json` (and `tokenizer_config.json` / `special_tokens_map.json` when present) from a folder. */
  static async fromPretrained(folder: string, options: MultilingualTokenizerOptions = {}): Promise<MultilingualTokenizer> {
    if (typeof folder !== 'string' || folder.length === 0) {
      throw new InvalidArgumentError({ name: 'folder', expected: 'the path of a folder holding tokenizer.json', actual: folder });
    }
    const file = path.join(folder, 'tokenizer.json');
    const json = await readJsonObject(file);
    const settings = await readTokenizerSettings(folder);
    return MultilingualTokenizer.fromJSON(json, settings.raw, { ...options, maxLength: options.maxLength ?? settings.maxLength }, file, settings);
  }

  /**
   * Builds the tokenizer from a parsed `tokenizer.json` and `tokenizer_config.json`.
   *
   * @example
   * ```ts
   * const tokenizer = MultilingualTokenizer.fromJSON(JSON.parse(text), { model_max_length: 77 });
   * ```
   */
  static fromJSON(
    tokenizerJson: JsonObject,
    tokenizerConfig: JsonObject = {},
    options: MultilingualTokenizerOptions = {},
    file = 'tokenizer.json',
    settings?: { padToken?: string; unkToken?: string; maxLength?: number },
  ): MultilingualTokenizer {
    const backend = createHuggingFaceTokenizer(tokenizerJson, tokenizerConfig, file);
    const padding = (tokenizerJson.padding ?? undefined) as PaddingSettings | undefined;
    const truncation = (tokenizerJson.truncation ?? undefined) as { max_length?: unknown } | undefined;
    const fixed = (padding?.strategy as { Fixed?: unknown } | undefined)?.Fixed;
    const configLength = typeof tokenizerConfig.model_max_length === 'number' && tokenizerConfig.model_max_length <= 1_000_000 ? tokenizerConfig.model_max_length : undefined;
    const maxLength = options.maxLength ?? settings?.maxLength ?? configLength ?? numberOr(truncation?.max_length) ?? numberOr(fixed);
    if (maxLength === undefined || !Number.isInteger(maxLength) || maxLength < 1) {
      throw new ModelLoadError({
        path: file,
        reason: `the sequence length is not set (found ${JSON.stringify(maxLength)}): add "model_max_length": 77 to tokenizer_config.json or pass { maxLength }`,
      });
    }
    const padToken = settings?.padToken ?? (typeof tokenizerConfig.pad_token === 'string' ? tokenizerConfig.pad_token : undefined);
    const padTokenId = numberOr(padding?.pad_id) ?? (padToken === undefined ? undefined : backend.token_to_id(padToken));
    if (padTokenId === undefined) {
      throw new ModelLoadError({
        path: file,
        reason: `no pad token: set "padding": { "pad_id": … } in tokenizer.json or "pad_token" in tokenizer_config.json`,
      });
    }
    const model = tokenizerJson.model as { unk_token?: unknown } | undefined;
    const unkToken = settings?.unkToken ?? (typeof model?.unk_token === 'string' ? model.unk_token : undefined);
    return new MultilingualTokenizer(backend, {
      maxLength,
      padTokenId,
      unknownTokenId: unkToken === undefined ? undefined : backend.token_to_id(unkToken),
      padLeft: padding?.direction === 'Left',
    });
  }

  /** Token ids of one prompt (padded and truncated to `maxLength` unless told otherwise). */
  encode(text: string, options?: TokenizeOptions): number[] {
    return [...this.tokenize(text, options).ids];
  }

  /** Ids and attention mask of one prompt. */
  tokenize(text: string, options: TokenizeOptions = {}): TokenizedText {
    if (typeof text !== 'string') {
      throw new InvalidArgumentError({ name: 'text', expected: 'a string', actual: text, hint: 'pass the prompt as a string' });
    }
    if (typeof options !== 'object' || options === null) {
      throw new InvalidArgumentError({ name: 'options', expected: '{ padding?: boolean, truncation?: boolean }', actual: options });
    }
    const { padding = true, truncation = true } = options;
    let words = this.backend.tokenize(toWellFormed(text));
    if (truncation) words = words.slice(0, Math.max(0, this.maxLength - this.specialTokenCount));
    const tokens = this.backend.post_processor ? this.backend.post_processor(words, null, true).tokens : words;
    const ids = (tokens as string[]).map((token) => this.idOf(token));
    if (truncation && ids.length > this.maxLength) ids.length = this.maxLength;
    const attentionMask = new Array<number>(ids.length).fill(1);
    if (padding && ids.length < this.maxLength) {
      const fill = this.maxLength - ids.length;
      const pads = new Array<number>(fill).fill(this.padTokenId);
      const zeros = new Array<number>(fill).fill(0);
      return this.padLeft
        ? { ids: [...pads, ...ids], attentionMask: [...zeros, ...attentionMask] }
        : { ids: [...ids, ...pads], attentionMask: [...attentionMask, ...zeros] };
    }
    return { ids, attentionMask };
  }

  private idOf(token: string): number {
    const id = this.backend.token_to_id(token) ?? this.unknownTokenId;
    if (id === undefined) {
      throw new InvalidArgumentError({
        name: 'text',
        expected: 'text whose tokens are in the vocabulary',
        actual: token,
        hint: 'this tokenizer has no unknown token; give its tokenizer.json an unk_token',
      });
    }
    return id;
  }
}

function numberOr(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}
