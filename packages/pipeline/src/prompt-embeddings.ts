/**
 * Turning prompts into the UNet's conditioning, as diffusers' `encode_prompt`: each prompt's
 * states repeated for its images (`repeat_interleave`), and with guidance the negative prompts'
 * states first in the batch (`[uncond; cond]`).
 */
import { InvalidArgumentError, concatBatch, repeatInterleaveBatch, throwIfAborted, type Tensor, type TextEncoder } from '@latentkit/core';

export interface PromptEmbeddingRequest {
  encoder: TextEncoder;
  prompts: readonly string[];
  negativePrompts: readonly string[];
  numImagesPerPrompt: number;
  guidance: boolean;
  signal?: AbortSignal;
}

/**
 * `[B·n, seq, D]` without guidance, `[2·B·n, seq, D]` (negative first) with it. Positive and
 * negative prompts go through the encoder in one batch.
 *
 * @example
 * ```ts
 * const embeddings = await encodePrompts({ encoder, prompts: ['a red circle'], negativePrompts: [''], numImagesPerPrompt: 1, guidance: true });
 * embeddings.dims; // [2, 77, 768]
 * ```
 */
export async function encodePrompts(request: PromptEmbeddingRequest): Promise<Tensor<Float32Array>> {
  const { encoder, prompts, negativePrompts, numImagesPerPrompt, guidance, signal } = request;
  throwIfAborted(signal);
  const texts = guidance ? [...negativePrompts, ...prompts] : [...prompts];
  const { hiddenStates } = await encoder.encode(texts, { signal });
  const [batch, , width] = hiddenStates.dims;
  if (batch !== texts.length || width !== encoder.hiddenSize) {
    throw new InvalidArgumentError({
      name: `text encoder '${encoder.name}' output`,
      expected: `[${texts.length}, seq, ${encoder.hiddenSize}]`,
      actual: hiddenStates.dims,
      hint: 'the encoder does not keep its contract: one row per prompt, hiddenSize wide',
    });
  }
  const states = repeatInterleaveBatch(hiddenStates, numImagesPerPrompt);
  return states;
}

/** Builds the conditioning from user-given embeddings (`[B, seq, D]` each), as diffusers' `prompt_embeds`. */
export function embeddingsFromTensors(
  promptEmbeds: Tensor<Float32Array>,
  negativePromptEmbeds: Tensor<Float32Array> | undefined,
  numImagesPerPrompt: number,
  guidance: boolean,
): Tensor<Float32Array> {
  const positive = repeatInterleaveBatch(promptEmbeds, numImagesPerPrompt);
  if (!guidance) return positive;
  if (!negativePromptEmbeds) {
    throw new InvalidArgumentError({ name: 'negativePromptEmbeds', expected: `a tensor of shape [${promptEmbeds.dims.join(', ')}] when guidanceScale > 1`, actual: undefined });
  }
  return concatBatch([repeatInterleaveBatch(negativePromptEmbeds, numImagesPerPrompt), positive]);
}
