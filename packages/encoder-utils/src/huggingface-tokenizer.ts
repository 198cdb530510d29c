/**
 * The bridge to `@huggingface/tokenizers` (tokenizers.js): one place that builds a tokenizer from
 * a `tokenizer.json` object and turns its failures into {@link ModelLoadError}s.
 */
import { ModelLoadError } from '@latentkit/core';
import type { Tokenizer as HuggingFaceTokenizerClass } from '@huggingface/tokenizers' with { 'resolution-mode': 'import' };

/**
 * The part of a `@huggingface/tokenizers` tokenizer that latentkit uses. Declared here rather than
 * re-exported, so that the published declarations do not pull in tokenizers.js' own, which a
 * consumer's strict `tsc` (`skipLibCheck: false`, `moduleResolution: node16`) rejects (TS2834).
 */
export interface HuggingFaceTokenizer {
  encode(text: string, options?: { add_special_tokens?: boolean }): { ids: number[] };
  tokenize(text: string): string[];
  token_to_id(token: string): number | undefined;
  /** Adds the special tokens (`[CLS]`, `</s>`, …) around a token list; null when the tokenizer adds none. */
  readonly post_processor: ((tokens: string[], pair: string[] | null, addSpecialTokens: boolean) => { tokens: string[] }) | null;
}

// tokenizers.js ships a CommonJS build for Node (`exports["."].node.require`).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const tokenizers = require('@huggingface/tokenizers') as { Tokenizer: typeof HuggingFaceTokenizerClass };

/**
 * Builds a tokenizers.js tokenizer from a parsed `tokenizer.json` (any model it supports: BPE,
 * WordPiece, Unigram) and the parsed `tokenizer_config.json`.
 *
 * @example
 * ```ts
 * const tokenizer = createHuggingFaceTokenizer(JSON.parse(readFileSync('tokenizer.json', 'utf8')), {}, 'tokenizer.json');
 * tokenizer.encode('hello world', { add_special_tokens: false }).ids;
 * ```
 */
export function createHuggingFaceTokenizer(
  tokenizerJson: Readonly<Record<string, unknown>>,
  tokenizerConfig: Readonly<Record<string, unknown>>,
  file: string,
): HuggingFaceTokenizer {
  const model = tokenizerJson.model as Record<string, unknown> | undefined;
  if (typeof model !== 'object' || model === null || (typeof model.type !== 'string' && !('vocab' in model))) {
    throw new ModelLoadError({ path: file, reason: '$.model must describe the tokenizer model (BPE, WordPiece or Unigram with its vocab)' });
  }
  try {
    // tokenizers.js reads `added_tokens` unconditionally; older files may omit it.
    const backend: HuggingFaceTokenizerClass = new tokenizers.Tokenizer({ added_tokens: [], ...tokenizerJson }, { ...tokenizerConfig });
    return backend as unknown as HuggingFaceTokenizer;
  } catch (error) {
    throw new ModelLoadError({
      path: file,
      reason: `@huggingface/tokenizers cannot build this tokenizer (${error instanceof Error ? error.message : String(error)})`,
      cause: error,
    });
  }
}
