/**
 * Attention processors: observe and change a UNet's attention per layer and step, as diffusers'
 * swappable attention processors do. They work on UNets loaded with `attention: 'native'`, whose
 * attention calls run outside onnxruntime (see segmented-session.ts).
 *
 * - {@link CrossAttentionMaps} captures cross-attention probabilities per prompt token, averaged
 *   over heads, layers and steps, per resolution level (what the word "red" looks at).
 * - {@link reweightTokens} scales chosen tokens' attention (prompt-to-prompt re-weighting,
 *   Hertz et al. 2022, §3.2 "attention re-weighting": `M ← M · w_token` after the softmax, without
 *   renormalising). Because `(P·diag(w))·V = P·(diag(w)·V)`, it scales those tokens' rows of V
 *   and the fused kernel runs unchanged: exact, and no score matrix is formed.
 */
import { InvalidArgumentError } from '@latentkit/core';
import { attentionProbabilities } from '@latentkit/native';
import { attention, type AttentionHook } from './segmented-session';

/** One attention call, as a processor sees it. */
export interface AttentionCall {
  /** Index of the attention layer in graph order (0 = the first down block's first attention). */
  readonly layer: number;
  /** The graph's name for it, e.g. `/down_blocks.0/attentions.0/transformer_blocks.0/attn2/MatMul`. */
  readonly name: string;
  /** `'cross'`: image tokens attend to text tokens; `'self'`: to image tokens. */
  readonly kind: 'self' | 'cross';
  /** The UNet call's timestep (the same for every layer of one call). */
  readonly timestep: number;
  readonly batch: number;
  readonly heads: number;
  readonly headDim: number;
  /** Image tokens, `height·width` of this resolution level. */
  readonly queryLength: number;
  /** Text tokens (cross) or image tokens (self). */
  readonly keyLength: number;
}

/**
 * Observes or changes attention calls. Every hook is optional.
 *
 * @example
 * ```ts
 * const logger: AttentionProcessor = { captures: (call) => call.kind === 'cross', onProbabilities: (call, p) => console.log(call.name, p.length) };
 * unet.setAttentionProcessor(logger);
 * ```
 */
export interface AttentionProcessor {
  /**
   * Per-key weights for this call: `[keyLength]` for every sequence, or `[batch·keyLength]`.
   * Undefined leaves the call unchanged.
   */
  keyWeights?(call: AttentionCall): Float32Array | undefined;
  /** Whether {@link onProbabilities} wants this call's probabilities (computed only then). */
  captures?(call: AttentionCall): boolean;
  /** Head-averaged probabilities `[batch, queryLength, keyLength]`, before any re-weighting. */
  onProbabilities?(call: AttentionCall, probabilities: Float32Array): void;
}

/** The attention hook that applies `processor` to a UNet call at `timestep`. */
export function processorHook(processor: AttentionProcessor, timestep: number): AttentionHook {
  return async (context, query, key, value) => {
    const { match, batch, queryLength, keyLength, headDim, scale } = context;
    const call: AttentionCall = { layer: context.layer, name: match.name, kind: match.kind, timestep, batch, heads: match.heads, headDim, queryLength, keyLength };
    const options = { batch, heads: match.heads, headDim, scale };
    if (processor.captures?.(call) && processor.onProbabilities) {
      processor.onProbabilities(call, attentionProbabilities(query, key, options));
    }
    const weights = processor.keyWeights?.(call);
    if (weights === undefined) return undefined;
    if (!(weights instanceof Float32Array) || (weights.length !== keyLength && weights.length !== batch * keyLength)) {
      throw new InvalidArgumentError({
        name: `keyWeights of ${call.name}`,
        expected: `a Float32Array of ${keyLength} (keyLength) or ${batch * keyLength} (batch·keyLength) weights`,
        actual: weights,
      });
    }
    // Scale each key's row of V (a [batch, keyLength, heads·headDim] tensor: 77 rows for cross-attention).
    const width = match.heads * headDim;
    const scaled = new Float32Array(value.length);
    for (let b = 0; b < batch; b++) {
      for (let j = 0; j < keyLength; j++) {
        const weight = weights.length === keyLength ? weights[j]! : weights[b * keyLength + j]!;
        const row = (b * keyLength + j) * width;
        for (let c = 0; c < width; c++) scaled[row + c] = value[row + c]! * weight;
      }
    }
    return attention(query, key, scaled, options);
  };
}

/** Options of {@link reweightTokens}. */
export interface ReweightOptions {
  /** Which sequences of the batch to re-weight: `'conditional'` (default: the second half of a guided batch, or all when the batch is 1) or `'all'`. */
  sequences?: 'conditional' | 'all';
  /** Re-weight only while the timestep is at least this (prompt-to-prompt often stops early); default: every step. */
  minTimestep?: number;
}

/**
 * Scales the attention that image positions pay to chosen prompt tokens in every
 * cross-attention layer: weight 0 removes a word's influence, 2 doubles it, 1 changes nothing.
 * Token indices count from the tokenizer's start token (index 0 is `<|startoftext|>`).
 *
 * @example
 * ```ts
 * // "a red circle": tokens 0 <start>, 1 "a", 2 "red", 3 "circle"
 * unet.setAttentionProcessor(reweightTokens({ 2: 0 })); // the circle loses its colour word
 * ```
 */
export function reweightTokens(weights: Readonly<Record<number, number>>, options: ReweightOptions = {}): AttentionProcessor {
  const entries = Object.entries(weights).map(([token, weight]) => [Number(token), weight] as const);
  for (const [token, weight] of entries) {
    if (!Number.isInteger(token) || token < 0 || typeof weight !== 'number' || !Number.isFinite(weight)) {
      throw new InvalidArgumentError({ name: 'weights', expected: 'token index → finite weight, e.g. { 2: 0.5 }', actual: weights });
    }
  }
  const sequences = options.sequences ?? 'conditional';
  return {
    keyWeights(call) {
      if (call.kind !== 'cross' || (options.minTimestep !== undefined && call.timestep < options.minTimestep)) return undefined;
      const out = new Float32Array(call.batch * call.keyLength).fill(1);
      const first = sequences === 'all' || call.batch === 1 ? 0 : Math.floor(call.batch / 2);
      for (let b = first; b < call.batch; b++) {
        for (const [token, weight] of entries) if (token < call.keyLength) out[b * call.keyLength + token] = weight;
      }
      return out;
    },
  };
}

/** A captured map: per token, a `height × width` grid of attention. */
export interface TokenAttentionMaps {
  readonly height: number;
  readonly width: number;
  /** Prompt tokens (keys), e.g. 77. */
  readonly tokens: number;
  /** `[tokens, height, width]`: for each position, the tokens' shares sum to 1. */
  readonly data: Float32Array;
}

/**
 * Captures cross-attention maps: for each resolution level, the probabilities averaged over
 * heads, layers and UNet calls, of the conditional half of a guided batch (or the whole batch
 * when it is 1). With `guidanceMode: 'sequential'` both calls are averaged.
 *
 * @example
 * ```ts
 * const maps = new CrossAttentionMaps();
 * unet.setAttentionProcessor(maps);
 * await pipeline.generate({ prompt: 'a red circle', width: 128, height: 128 });
 * const level = maps.levels()[0]; // the coarsest level, e.g. 4×4 with 77 tokens
 * ```
 */
export class CrossAttentionMaps implements AttentionProcessor {
  private readonly sums = new Map<number, { data: Float64Array; count: number; keyLength: number }>();

  /**
   * @param aspect the latent's `width / height`, to recover each level's grid from its token
   *   count (default 1, square images).
   */
  constructor(private readonly aspect = 1) {}

  captures(call: AttentionCall): boolean {
    return call.kind === 'cross';
  }

  onProbabilities(call: AttentionCall, probabilities: Float32Array): void {
    const { batch, queryLength, keyLength } = call;
    const first = batch === 1 ? 0 : Math.floor(batch / 2);
    let entry = this.sums.get(queryLength);
    if (entry === undefined || entry.keyLength !== keyLength) {
      entry = { data: new Float64Array(queryLength * keyLength), count: 0, keyLength };
      this.sums.set(queryLength, entry);
    }
    for (let b = first; b < batch; b++) {
      const offset = b * queryLength * keyLength;
      for (let i = 0; i < queryLength * keyLength; i++) entry.data[i]! += probabilities[offset + i]!;
      entry.count++;
    }
  }

  /** Forgets everything captured so far (before the next image). */
  reset(): void {
    this.sums.clear();
  }

  /** The maps of every captured level, coarsest first; `aspect` (width / height) overrides the constructor's. */
  levels(aspect = this.aspect): TokenAttentionMaps[] {
    return [...this.sums.keys()].sort((a, b) => a - b).map((queryLength) => this.level(queryLength, aspect)!);
  }

  /** The map of the level with `queryLength` image tokens, or undefined when none was captured. */
  level(queryLength: number, aspect = this.aspect): TokenAttentionMaps | undefined {
    const entry = this.sums.get(queryLength);
    if (entry === undefined || entry.count === 0) return undefined;
    const height = Math.max(1, Math.round(Math.sqrt(queryLength / aspect)));
    const width = queryLength / height;
    const { keyLength: tokens } = entry;
    const data = new Float32Array(tokens * queryLength);
    for (let i = 0; i < queryLength; i++) {
      for (let t = 0; t < tokens; t++) data[t * queryLength + i] = entry.data[i * tokens + t]! / entry.count;
    }
    return { height, width: Number.isInteger(width) ? width : queryLength, tokens, data };
  }

  /**
   * All levels averaged at the finest level's grid (coarser levels upsampled by nearest
   * neighbour), as one `[tokens, height, width]` map.
   */
  combined(aspect = this.aspect): TokenAttentionMaps | undefined {
    const levels = this.levels(aspect);
    const finest = levels[levels.length - 1];
    if (finest === undefined) return undefined;
    const { height, width, tokens } = finest;
    const data = new Float32Array(tokens * height * width);
    for (const level of levels) {
      for (let t = 0; t < tokens; t++) {
        for (let y = 0; y < height; y++) {
          const sourceY = Math.min(level.height - 1, Math.floor((y * level.height) / height));
          for (let x = 0; x < width; x++) {
            const sourceX = Math.min(level.width - 1, Math.floor((x * level.width) / width));
            data[(t * height + y) * width + x]! += level.data[(t * level.height + sourceY) * level.width + sourceX]! / levels.length;
          }
        }
      }
    }
    return { height, width, tokens, data };
  }
}
