/** A small, correct text encoder for testing the suite: each word adds a fixed vector to its token. */
import { InvalidArgumentError, createTensor, throwIfAborted, type TextEncoder } from '@latentkit/core';

export function bagOfWordsEncoder(overrides: Partial<TextEncoder> = {}): TextEncoder {
  const hiddenSize = 8;
  const maxLength = 6;
  return {
    specificationVersion: 'v1',
    name: 'bag-of-words',
    hiddenSize,
    maxLength,
    async encode(prompts, options) {
      if (!Array.isArray(prompts) || !prompts.every((p) => typeof p === 'string')) {
        throw new InvalidArgumentError({ name: 'prompts', expected: 'an array of strings', actual: prompts });
      }
      throwIfAborted(options?.signal);
      const data = new Float32Array(prompts.length * maxLength * hiddenSize);
      prompts.forEach((prompt, b) => {
        prompt.split(/\s+/).filter(Boolean).slice(0, maxLength).forEach((word, position) => {
          for (let d = 0; d < hiddenSize; d++) {
            data[(b * maxLength + position) * hiddenSize + d] = Math.sin(word.length * (d + 1) + word.charCodeAt(0) + position);
          }
        });
      });
      return { hiddenStates: createTensor([prompts.length, maxLength, hiddenSize], data) };
    },
    ...overrides,
  };
}
