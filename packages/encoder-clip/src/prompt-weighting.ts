/**
 * The prompt-emphasis syntax that Stable Diffusion users know from AUTOMATIC1111's web UI:
 *
 * - `(words)` multiplies the attention paid to `words` by 1.1, `((words))` by 1.1², …
 * - `[words]` divides it by 1.1;
 * - `(words:1.3)` sets the factor of that group to 1.3 (nested groups multiply);
 * - `\(`, `\)`, `\[`, `\]`, `\\` are the literal characters;
 * - a bracket left open applies to the end of the prompt, a stray closing one is plain text.
 *
 * This module only parses; {@link applyTokenWeights} and the encoder apply the factors.
 */

/** A piece of a prompt and its emphasis factor. */
export interface WeightedFragment {
  readonly text: string;
  readonly weight: number;
}

/** The factor of one level of `( )`; `[ ]` divides by it. */
export const EMPHASIS_FACTOR = 1.1;

const TOKEN = /\\[\\()[\]]|\\|\(|\[|:\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*\)|\)|\]|[^\\()[\]:]+|:/g;

/**
 * Splits a prompt into fragments with their emphasis factors. Neighbouring fragments with the
 * same factor are merged; an empty prompt gives one empty fragment of weight 1.
 *
 * @example
 * ```ts
 * parsePromptWeights('a (red:1.5) circle, [blurry]');
 * // [{ text: 'a ', weight: 1 }, { text: 'red', weight: 1.5 }, { text: ' circle, ', weight: 1 }, { text: 'blurry', weight: 0.9090909 }]
 * ```
 */
export function parsePromptWeights(prompt: string): WeightedFragment[] {
  const fragments: { text: string; weight: number }[] = [];
  const openRound: number[] = [];
  const openSquare: number[] = [];
  const scaleFrom = (start: number, factor: number) => {
    for (let i = start; i < fragments.length; i++) fragments[i]!.weight *= factor;
  };
  for (const match of prompt.matchAll(TOKEN)) {
    const token = match[0];
    const explicitWeight = match[1];
    if (token.length === 2 && token[0] === '\\') fragments.push({ text: token[1]!, weight: 1 });
    else if (token === '(') openRound.push(fragments.length);
    else if (token === '[') openSquare.push(fragments.length);
    else if (explicitWeight !== undefined && openRound.length > 0) scaleFrom(openRound.pop()!, Number(explicitWeight));
    else if (token === ')' && openRound.length > 0) scaleFrom(openRound.pop()!, EMPHASIS_FACTOR);
    else if (token === ']' && openSquare.length > 0) scaleFrom(openSquare.pop()!, 1 / EMPHASIS_FACTOR);
    else fragments.push({ text: token, weight: 1 });
  }
  for (const start of openRound) scaleFrom(start, EMPHASIS_FACTOR);
  for (const start of openSquare) scaleFrom(start, 1 / EMPHASIS_FACTOR);
  const merged: WeightedFragment[] = [];
  for (const fragment of fragments) {
    const last = merged[merged.length - 1];
    if (last && last.weight === fragment.weight) merged[merged.length - 1] = { text: last.text + fragment.text, weight: last.weight };
    else merged.push({ ...fragment });
  }
  return merged.length > 0 ? merged : [{ text: '', weight: 1 }];
}

/**
 * Scales each token's embedding by its weight, then rescales the whole sequence so that its mean
 * is unchanged (AUTOMATIC1111's method: emphasis changes the balance between tokens, not the
 * overall magnitude the UNet was trained on). Works in place on one `[seq, hiddenSize]` slice.
 *
 * @example
 * ```ts
 * applyTokenWeights(hiddenStates.data.subarray(0, 77 * 768), weights, 768);
 * ```
 */
export function applyTokenWeights(states: Float32Array, weights: ArrayLike<number>, hiddenSize: number): void {
  let allOne = true;
  for (let t = 0; t < weights.length; t++) if (weights[t] !== 1) allOne = false;
  if (allOne) return;
  let before = 0;
  for (let i = 0; i < states.length; i++) before += states[i]!;
  let after = 0;
  for (let t = 0; t < weights.length; t++) {
    const w = weights[t]!;
    for (let i = t * hiddenSize, end = i + hiddenSize; i < end; i++) {
      states[i] = states[i]! * w;
      after += states[i]!;
    }
  }
  if (after === 0 || !Number.isFinite(before / after)) return;
  const rescale = before / after;
  for (let i = 0; i < states.length; i++) states[i] = states[i]! * rescale;
}
