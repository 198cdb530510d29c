/** The tokenizer contract: prompts → integer ids of a fixed length. */

export interface TokenizeOptions {
  /** Pad to `maxLength` (default true). */
  padding?: boolean;
  /** Cut to `maxLength` (default true). */
  truncation?: boolean;
}

/** The result of tokenizing one prompt. */
export interface TokenizedText {
  /** Token ids, including the model's special tokens. */
  readonly ids: readonly number[];
  /** 1 for real tokens, 0 for padding; same length as `ids`. */
  readonly attentionMask: readonly number[];
}

/**
 * A tokenizer for one text encoder.
 *
 * @example
 * ```ts
 * const ids = tokenizer.encode('a red circle'); // [49406, 320, 736, 7117, 49407, 49407, …] (77 ids)
 * ```
 */
export interface Tokenizer {
  readonly specificationVersion: 'v1';
  /** The model's sequence length (77 for CLIP), `model_max_length` in `tokenizer_config.json`. */
  readonly maxLength: number;
  /** The id used for padding. */
  readonly padTokenId: number;
  /** Token ids of one prompt (padded and truncated to `maxLength` unless told otherwise). */
  encode(text: string, options?: TokenizeOptions): number[];
  /** Ids and attention mask of one prompt. */
  tokenize(text: string, options?: TokenizeOptions): TokenizedText;
}
