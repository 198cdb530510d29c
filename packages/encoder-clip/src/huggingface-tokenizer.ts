/**
 * The bridge to `@huggingface/tokenizers` (tokenizers.js): one place that builds a tokenizer from
 * a `tokenizer.json` object and turns its failures into {@link ModelLoadError}s.
 */
import { ModelLoadError } from '@latentkit/core';
import type { Tokenizer as HuggingFaceTokenizerClass } from '@huggingface/tokenizers' with { 'resolution-mode': 'import' };

/** A `@huggingface/tokenizers` tokenizer instance. */
export type HuggingFaceTokenizer = HuggingFaceTokenizerClass;

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
    return new tokenizers.Tokenizer({ added_tokens: [], ...tokenizerJson }, { ...tokenizerConfig });
  } catch (error) {
    throw new ModelLoadError({
      path: file,
      reason: `@huggingface/tokenizers cannot build this tokenizer (${error instanceof Error ? error.message : String(error)})`,
      cause: error,
    });
  }
}
