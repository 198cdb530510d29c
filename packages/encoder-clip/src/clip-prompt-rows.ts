/**
 * From prompts to the rows a CLIP graph runs on: optional emphasis weights per token, and long
 * prompts either truncated (diffusers) or cut into 75-token chunks, each framed by
 * `<|startoftext|>` … `<|endoftext|>` and padded to 77 (AUTOMATIC1111's and compel's method).
 */
import type { CLIPTokenizer } from './clip-tokenizer';
import { parsePromptWeights } from './prompt-weighting';

/** Framed rows of `maxLength` ids, their attention masks and each id's emphasis weight. */
export interface PromptRows {
  readonly rows: number[][];
  readonly masks: number[][];
  readonly weights: number[][];
}

/** How prompts become rows. */
export interface PromptRowOptions {
  /** `'truncate'`: one row per prompt; `'chunk'`: as many rows as 75-token chunks. */
  readonly longPrompts: 'truncate' | 'chunk';
  /** Parse the emphasis syntax (otherwise every weight is 1). */
  readonly weighting: boolean;
}

/**
 * Tokenizes one prompt into framed rows.
 *
 * @example
 * ```ts
 * promptRows(tokenizer, 'a (red:1.5) circle', { longPrompts: 'truncate', weighting: true }).weights[0].slice(0, 5);
 * // [1, 1, 1.5, 1, 1]
 * ```
 */
export function promptRows(tokenizer: CLIPTokenizer, prompt: string, options: PromptRowOptions): PromptRows {
  const wordIds: number[] = [];
  const wordWeights: number[] = [];
  const fragments = options.weighting ? parsePromptWeights(prompt) : [{ text: prompt, weight: 1 }];
  for (const fragment of fragments) {
    for (const id of tokenizer.encodeWords(fragment.text)) {
      wordIds.push(id);
      wordWeights.push(fragment.weight);
    }
  }
  const perChunk = tokenizer.maxLength - 2;
  const chunkCount = options.longPrompts === 'chunk' ? Math.max(1, Math.ceil(wordIds.length / perChunk)) : 1;
  const out: PromptRows = { rows: [], masks: [], weights: [] };
  for (let c = 0; c < chunkCount; c++) {
    const framed = tokenizer.frame(wordIds.slice(c * perChunk, (c + 1) * perChunk));
    out.rows.push([...framed.ids]);
    out.masks.push([...framed.attentionMask]);
    const weights = [1, ...wordWeights.slice(c * perChunk, (c + 1) * perChunk)];
    while (weights.length < framed.ids.length) weights.push(1);
    out.weights.push(weights);
  }
  return out;
}

/**
 * Gives every prompt of a batch the same number of chunks, adding empty ones
 * (`<|startoftext|><|endoftext|>` + padding) after the shorter prompts, and flattens them
 * prompt-major, so that `[batch × chunks, 77, H]` reads as `[batch, chunks × 77, H]`.
 *
 * @example
 * ```ts
 * const { rows, chunks } = alignPromptRows(tokenizer, prompts.map((p) => promptRows(tokenizer, p, options)));
 * ```
 */
export function alignPromptRows(tokenizer: CLIPTokenizer, prompts: readonly PromptRows[]): PromptRows & { chunks: number } {
  const chunks = Math.max(...prompts.map((p) => p.rows.length));
  const empty = tokenizer.frame([]);
  const out: PromptRows = { rows: [], masks: [], weights: [] };
  for (const prompt of prompts) {
    for (let c = 0; c < chunks; c++) {
      out.rows.push(prompt.rows[c] ?? [...empty.ids]);
      out.masks.push(prompt.masks[c] ?? [...empty.attentionMask]);
      out.weights.push(prompt.weights[c] ?? empty.ids.map(() => 1));
    }
  }
  return { ...out, chunks };
}
