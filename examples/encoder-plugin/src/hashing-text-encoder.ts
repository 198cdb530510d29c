/**
 * A deterministic hashing text encoder: every word is embedded by a seeded hash, and its position
 * is mixed in with sinusoidal encodings. It has no weights and understands nothing, but it is a
 * complete, honest implementation of latentkit's `TextEncoder` contract with a declared width —
 * which is what a plugin needs to show.
 */
import {
  InvalidArgumentError,
  StateError,
  createTensor,
  throwIfAborted,
  type TextEncodeOptions,
  type TextEncoder,
  type TextEncoderOutput,
} from '@latentkit/core';

/** Settings of {@link createHashingTextEncoder}. */
export interface HashingTextEncoderSettings {
  /** Width of each token's embedding: must equal the UNet's `cross_attention_dim` to be usable. */
  hiddenSize: number;
  /** Tokens per prompt, including the start and end tokens (default 77, as CLIP). */
  maxLength?: number;
  /** Changes every embedding; the same seed always gives the same embeddings (default 0). */
  seed?: number;
}

const START = '<|start|>';
const END = '<|end|>';
const PAD = '<|pad|>';

/**
 * Lower-cased words and single punctuation marks, after Unicode compatibility normalisation.
 *
 * @example
 * ```ts
 * hashingTokens('A red circle!'); // ['a', 'red', 'circle', '!']
 * ```
 */
export function hashingTokens(prompt: string): string[] {
  return prompt.normalize('NFKC').toLowerCase().match(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu) ?? [];
}

/** FNV-1a (32-bit) over the UTF-16 code units of a string, mixed with a seed. */
function fnv1a(text: string, seed: number): number {
  let hash = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * A token's vector: SplitMix32 uniforms seeded by the token's hash, on [−√3, √3) so each
 * component has unit variance.
 */
function tokenVector(token: string, size: number, seed: number): Float32Array {
  let state = fnv1a(token, seed) | 0;
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    state = (state + 0x9e3779b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    z ^= z >>> 16;
    out[i] = ((z >>> 0) / 4294967296 * 2 - 1) * Math.sqrt(3);
  }
  return out;
}

/** Sinusoidal position encoding, Vaswani et al. 2017 §3.5: PE(p, 2i) = sin(p / 10000^(2i/d)), PE(p, 2i+1) = cos(…). */
function positionEncoding(position: number, size: number): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i += 2) {
    const angle = position / 10000 ** (i / size);
    out[i] = Math.sin(angle);
    if (i + 1 < size) out[i + 1] = Math.cos(angle);
  }
  return out;
}

function checkPositiveInteger(name: string, value: unknown, minimum: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < minimum) {
    throw new InvalidArgumentError({ name, expected: `an integer ≥ ${minimum}`, actual: value });
  }
  return value;
}

class HashingTextEncoder implements TextEncoder {
  readonly specificationVersion = 'v1' as const;
  readonly name = 'hashing';
  readonly hiddenSize: number;
  readonly maxLength: number;
  readonly pooledSize: number;
  private readonly seed: number;
  private readonly positions: Float32Array[];
  private vectors: Map<string, Float32Array> | undefined = new Map();

  constructor(settings: HashingTextEncoderSettings) {
    if (typeof settings !== 'object' || settings === null) {
      throw new InvalidArgumentError({ name: 'settings', expected: '{ hiddenSize, maxLength?, seed? }', actual: settings });
    }
    this.hiddenSize = checkPositiveInteger('hiddenSize', settings.hiddenSize, 1);
    this.maxLength = checkPositiveInteger('maxLength', settings.maxLength ?? 77, 2);
    this.seed = settings.seed === undefined ? 0 : checkPositiveInteger('seed', settings.seed, 0);
    this.pooledSize = this.hiddenSize;
    this.positions = Array.from({ length: this.maxLength }, (_, p) => positionEncoding(p, this.hiddenSize));
  }

  async encode(prompts: readonly string[], options: TextEncodeOptions = {}): Promise<TextEncoderOutput> {
    if (!Array.isArray(prompts)) {
      throw new InvalidArgumentError({ name: 'prompts', expected: 'an array of strings', actual: prompts, hint: "wrap a single prompt in an array: encode(['a red circle'])" });
    }
    prompts.forEach((prompt, i) => {
      if (typeof prompt !== 'string') throw new InvalidArgumentError({ name: `prompts[${i}]`, expected: 'a string', actual: prompt });
    });
    throwIfAborted(options.signal);
    const vectors = this.vectors;
    if (!vectors) throw new StateError('This hashing text encoder was disposed: create a new one with createHashingTextEncoder()');

    const { hiddenSize: width, maxLength: length } = this;
    const hidden = new Float32Array(prompts.length * length * width);
    const pooled = new Float32Array(prompts.length * width);
    for (const [b, prompt] of prompts.entries()) {
      // CLIP's layout: start, the words (cut to fit), end, then padding to maxLength.
      const words = hashingTokens(prompt).slice(0, length - 2);
      const sequence = [START, ...words, END];
      while (sequence.length < length) sequence.push(PAD);
      for (const [position, token] of sequence.entries()) {
        let vector = vectors.get(token);
        if (!vector) vectors.set(token, (vector = tokenVector(token, width, this.seed)));
        const offset = (b * length + position) * width;
        const encoding = this.positions[position]!;
        for (let d = 0; d < width; d++) hidden[offset + d] = vector[d]! + encoding[d]!;
        // The pooled vector is the mean of the word vectors (the start and end tokens for an empty prompt).
        if (token !== PAD && (words.length === 0 || (token !== START && token !== END))) {
          const count = words.length === 0 ? 2 : words.length;
          for (let d = 0; d < width; d++) pooled[b * width + d]! += vector[d]! / count;
        }
      }
    }
    return {
      hiddenStates: createTensor([prompts.length, length, width], hidden),
      pooled: createTensor([prompts.length, width], pooled),
    };
  }

  dispose(): void {
    this.vectors = undefined;
  }
}

/**
 * Creates a hashing text encoder with a declared width.
 *
 * @example
 * ```ts
 * import { createHashingTextEncoder } from '@latentkit-example/encoder-plugin-hashing';
 *
 * const encoder = createHashingTextEncoder({ hiddenSize: 32, maxLength: 77 });
 * const { hiddenStates } = await encoder.encode(['a red circle', '']);
 * hiddenStates.dims; // [2, 77, 32]
 * ```
 */
export function createHashingTextEncoder(settings: HashingTextEncoderSettings): TextEncoder {
  return new HashingTextEncoder(settings);
}
