/** The text-encoder contract: prompts → per-token embeddings `[batch, seq, hiddenSize]`. */
import { InvalidArgumentError } from './errors';
import type { Tensor } from './tensor';

export interface TextEncodeOptions {
  /** Cancels between batches with an `AbortError`. */
  signal?: AbortSignal;
}

export interface TextEncoderOutput {
  /** Per-token states `[batch, seq, hiddenSize]`: what the UNet's cross-attention reads. */
  readonly hiddenStates: Tensor<Float32Array>;
  /** One vector per prompt `[batch, pooledSize]`, when the encoder has one (SDXL uses it). */
  readonly pooled?: Tensor<Float32Array>;
}

/**
 * A text encoder. Any model works with a UNet as long as `hiddenSize` equals the UNet's
 * `crossAttentionDim` and its embeddings live in the space the UNet was trained on.
 *
 * @example
 * ```ts
 * const { hiddenStates } = await encoder.encode(['a red circle', '']);
 * hiddenStates.dims; // [2, 77, 768] for SD 1.x
 * ```
 */
export interface TextEncoder {
  readonly specificationVersion: 'v1';
  /** A name for messages, e.g. `'clip'` or `'multilingual'`. */
  readonly name: string;
  /** Width of each token's embedding. */
  readonly hiddenSize: number;
  /** Sequence length the encoder accepts (its position embeddings). */
  readonly maxLength: number;
  /** Width of the pooled output, when there is one. */
  readonly pooledSize?: number;
  /** The tokenizer this encoder was trained with, when it has one. */
  readonly tokenizer?: import('./tokenizer').Tokenizer;
  encode(prompts: readonly string[], options?: TextEncodeOptions): Promise<TextEncoderOutput>;
  dispose?(): Promise<void> | void;
}

/**
 * Checks the `prompts` argument of {@link TextEncoder.encode}: a non-empty array of strings.
 * Every encoder calls it first, so all of them reject bad input with the same message.
 *
 * @example
 * ```ts
 * assertPromptList(['a red circle', '']); // ok
 * assertPromptList(['a', 3]); // InvalidArgumentError: prompts[1] must be a string, got 3
 * ```
 */
export function assertPromptList(prompts: unknown): asserts prompts is readonly string[] {
  if (!Array.isArray(prompts) || prompts.length === 0) {
    throw new InvalidArgumentError({ name: 'prompts', expected: 'a non-empty array of strings', actual: prompts });
  }
  prompts.forEach((prompt: unknown, index) => {
    if (typeof prompt !== 'string') throw new InvalidArgumentError({ name: `prompts[${index}]`, expected: 'a string', actual: prompt });
  });
}
