/**
 * Words a prompt loses before the model sees them: words the tokenizer maps to its unknown token
 * (the multilingual encoder's `[UNK]`), and words past the tokenizer's length (77 tokens for CLIP,
 * start and end included) that truncation cuts. Both change the image silently, so the CLI names
 * them on stderr.
 */
import type { Tokenizer } from '@latentkit/core';

/** What a prompt loses. */
export interface DroppedWords {
  /** Words (whitespace-separated) with at least one unknown token. */
  readonly unknown: readonly string[];
  /** Words at least partly past the tokenizer's length, in order. */
  readonly cut: readonly string[];
  /** The prompt's length in tokens, framing included, and the tokenizer's length. */
  readonly tokens: number;
  readonly maxLength: number;
}

function tokenCount(tokenizer: Tokenizer, text: string): readonly number[] {
  return tokenizer.tokenize(text, { padding: false, truncation: false }).ids;
}

/**
 * The words of `prompt` the tokenizer drops or cuts. Words are counted one at a time, as CLIP's
 * and SentencePiece's pre-tokenizers split on whitespace first.
 *
 * @example
 * ```ts
 * droppedWords(multilingualTokenizer, 'ein lila Kreis'); // { unknown: ['lila'], cut: [], tokens: 6, maxLength: 77 }
 * ```
 */
export function droppedWords(tokenizer: Tokenizer, prompt: string): DroppedWords {
  const framing = tokenCount(tokenizer, '').length;
  const budget = tokenizer.maxLength - framing;
  const unknownId = (tokenizer as { unknownTokenId?: number }).unknownTokenId;
  const unknown: string[] = [];
  const cut: string[] = [];
  let used = 0;
  for (const word of prompt.split(/\s+/).filter(Boolean)) {
    const ids = tokenCount(tokenizer, word);
    const own = ids.length - framing;
    if (unknownId !== undefined && ids.includes(unknownId)) unknown.push(word);
    if (used + own > budget) cut.push(word);
    used += own;
  }
  return { unknown, cut, tokens: tokenCount(tokenizer, prompt).length, maxLength: tokenizer.maxLength };
}

/**
 * The warning lines for a prompt (none when nothing is lost).
 *
 * @example
 * ```ts
 * promptWarnings('prompt', droppedWords(tokenizer, prompt), { offerChunking: true });
 * ```
 */
export function promptWarnings(label: string, dropped: DroppedWords, options: { offerChunking?: boolean } = {}): string[] {
  const lines: string[] = [];
  const quote = (words: readonly string[]) => words.map((w) => `'${w}'`).join(', ');
  if (dropped.unknown.length > 0) {
    lines.push(
      `the ${label}'s word${dropped.unknown.length === 1 ? '' : 's'} ${quote(dropped.unknown)} ${dropped.unknown.length === 1 ? 'is' : 'are'} unknown to the tokenizer and reach the model as [UNK]: ` +
        'rephrase with words the model knows (latentkit-tiny: see its MODEL_CARD.md)',
    );
  }
  if (dropped.cut.length > 0) {
    lines.push(
      `the ${label} is ${dropped.tokens} tokens but the text encoder reads ${dropped.maxLength}: ${quote(dropped.cut)} ${dropped.cut.length === 1 ? 'is' : 'are'} cut off; shorten it${options.offerChunking ? ' or pass --long-prompts chunk' : ''}`,
    );
  }
  return lines;
}
