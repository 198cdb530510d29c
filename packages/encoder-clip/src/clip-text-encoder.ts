/**
 * `CLIPTextEncoder`: Stable Diffusion's CLIP text encoder as an onnxruntime session.
 *
 * Everything about the graph is read from the graph itself (see `clip-graph-interface.ts`); the
 * prompts become rows as `clip-prompt-rows.ts` describes (truncation or 75-token chunks, optional
 * emphasis weights), and the states come back as `[batch, 77 × chunks, hiddenSize]`.
 */
import * as path from 'node:path';
import type * as ort from 'onnxruntime-node';
import {
  assertPromptList,
  InvalidArgumentError,
  ModelLoadError,
  StateError,
  createTensor,
  fromOrtFloat32,
  throwIfAborted,
  type TextEncodeOptions,
  type TextEncoder,
  type TextEncoderOutput,
} from '@latentkit/core';
import { layerNormRows } from './clip-final-layer-norm';
import { readClipGraphInterface, type ClipGraphInterface } from './clip-graph-interface';
import { alignPromptRows, promptRows } from './clip-prompt-rows';
import { CLIPTokenizer } from './clip-tokenizer';
import { CLIP_END_OF_TEXT_ID } from './clip-vocabulary';
import { ReleasableSession, resolveOnnxComponent, withOnnxSession, type OnnxSessionOptions } from '@latentkit/onnx';
import { assertFromPretrainedArguments, assertTokenizerFitsPositions, firstFolderWith, tokenIdData } from '@latentkit/encoder-utils';
import { applyTokenWeights } from './prompt-weighting';

export interface CLIPTextEncoderOptions {
  /** onnxruntime or latentkit session options (threads, execution providers, optimisation level). */
  sessionOptions?: OnnxSessionOptions;
  /**
   * Layers to skip from the end, as diffusers' `clip_skip`: 1 uses the penultimate layer's states
   * (through the final layer norm). Needs an export with `hidden_states.N` outputs. Default 0.
   */
  clipSkip?: number;
  /**
   * Prompts longer than `maxLength − 2` tokens: `'truncate'` cuts them (default, as diffusers);
   * `'chunk'` encodes them in 75-token chunks, each framed by the special tokens, and concatenates
   * the chunks' states along the sequence axis (AUTOMATIC1111's and compel's method).
   */
  longPrompts?: 'truncate' | 'chunk';
  /** Parse `(word:1.3)`, `(word)`, `[word]` and scale those tokens' embeddings. Default false. */
  weighting?: boolean;
  /** A tokenizer to use instead of the one found beside the encoder. */
  tokenizer?: CLIPTokenizer;
}

/** Options of {@link CLIPTextEncoder.encodeIds}. */
export interface EncodeIdsOptions extends TextEncodeOptions {
  /**
   * Attention masks of the rows, for graphs with an `attention_mask` input. Default: ones up to
   * and including each row's first `<|endoftext|>`, as the tokenizer makes them.
   */
  attentionMask?: readonly (readonly number[])[];
}

/**
 * The CLIP text encoder of Stable Diffusion, on onnxruntime.
 *
 * @example
 * ```ts
 * const encoder = await CLIPTextEncoder.fromPretrained('models/sd15-onnx', { longPrompts: 'chunk', weighting: true });
 * const { hiddenStates, pooled } = await encoder.encode(['', 'a (red:1.3) circle']);
 * hiddenStates.dims; // [2, 77, 768]
 * await encoder.dispose();
 * ```
 */
export class CLIPTextEncoder implements TextEncoder {
  readonly specificationVersion = 'v1' as const;
  readonly name = 'clip';
  readonly hiddenSize: number;
  /** The length of each row fed to the graph: the tokenizer's `model_max_length` (77). */
  readonly maxLength: number;
  readonly pooledSize?: number;
  readonly tokenizer?: CLIPTokenizer;
  /** The dtype the graph wants for `input_ids`. */
  readonly inputIdsType: 'int32' | 'int64';
  /** The output read as the per-token states (`last_hidden_state`, or `hidden_states.N` with clip skip). */
  readonly statesOutput: string;
  private readonly session: ReleasableSession;
  private readonly ort: typeof import('onnxruntime-node');
  private readonly graph: ClipGraphInterface;
  private readonly longPrompts: 'truncate' | 'chunk';
  private readonly weighting: boolean;

  private constructor(
    session: ort.InferenceSession,
    ortModule: typeof import('onnxruntime-node'),
    graph: ClipGraphInterface,
    fields: { maxLength: number; tokenizer?: CLIPTokenizer; longPrompts: 'truncate' | 'chunk'; weighting: boolean },
  ) {
    this.session = new ReleasableSession(session, 'CLIPTextEncoder');
    this.ort = ortModule;
    this.graph = graph;
    this.hiddenSize = graph.hiddenSize;
    this.pooledSize = graph.pooledSize;
    this.inputIdsType = graph.inputIdsType;
    this.statesOutput = graph.statesOutput;
    this.maxLength = fields.maxLength;
    this.tokenizer = fields.tokenizer;
    this.longPrompts = fields.longPrompts;
    this.weighting = fields.weighting;
  }

  /**
   * Loads the encoder from a model folder (its `text_encoder/` and `tokenizer/`) or from the
   * `text_encoder/` folder itself (the tokenizer is then taken from a sibling `tokenizer/`).
   */
  static async fromPretrained(folder: string, options: CLIPTextEncoderOptions = {}): Promise<CLIPTextEncoder> {
    assertFromPretrainedArguments(folder, options, 'the path of a model folder or its text_encoder/ folder');
    validateOptions(options);
    const { componentDir, parentDir, modelFile, config } = await resolveOnnxComponent(folder, 'text_encoder');
    const tokenizer = options.tokenizer ?? (await findTokenizer([path.join(parentDir, 'tokenizer'), componentDir]));

    // The tokenizer's ids index the encoder's embedding rows: a tokenizer whose special tokens lie
    // past them (CLIP's are its last ids) belongs to another model.
    const rows = typeof config.vocab_size === 'number' ? config.vocab_size : undefined;
    const highest = tokenizer ? Math.max(tokenizer.startOfTextId, tokenizer.endOfTextId, tokenizer.padTokenId) : undefined;
    if (rows !== undefined && highest !== undefined && highest >= rows) {
      throw new ModelLoadError({
        path: path.join(componentDir, 'config.json'),
        reason: `vocab_size is ${rows} (embedding rows) but the tokenizer makes ids up to ${highest}: use the tokenizer that came with this encoder`,
      });
    }
    const positions = typeof config.max_position_embeddings === 'number' ? config.max_position_embeddings : undefined;
    const maxLength = tokenizer?.maxLength ?? positions ?? 77;
    assertTokenizerFitsPositions(componentDir, config, maxLength, 'use the tokenizer that came with this encoder');
    const ortModule = await import('onnxruntime-node');
    return withOnnxSession(modelFile, options.sessionOptions, async (session) => {
      const graph = await readClipGraphInterface(session, { modelFile, config, clipSkip: options.clipSkip ?? 0 });
      if (graph.fixedSequenceLength !== undefined && graph.fixedSequenceLength !== maxLength) {
        throw new ModelLoadError({
          path: modelFile,
          reason: `the graph takes input_ids of length ${graph.fixedSequenceLength} but the tokenizer makes ${maxLength}: use the tokenizer exported with this encoder`,
        });
      }
      return new CLIPTextEncoder(session, ortModule, graph, {
        maxLength,
        tokenizer,
        longPrompts: options.longPrompts ?? 'truncate',
        weighting: options.weighting ?? false,
      });
    });
  }

  /**
   * Encodes prompts: `hiddenStates` `[batch, 77 × chunks, hiddenSize]` (one chunk unless
   * `longPrompts: 'chunk'` and a prompt is longer), `pooled` `[batch, pooledSize]` from the
   * first chunk when the graph has a pooled output.
   */
  async encode(prompts: readonly string[], options: TextEncodeOptions = {}): Promise<TextEncoderOutput> {
    assertPromptList(prompts);
    const tokenizer = this.tokenizer;
    if (!tokenizer) {
      throw new StateError(
        `CLIPTextEncoder has no tokenizer: load it from a model folder with a tokenizer/ folder, pass { tokenizer }, or call encodeIds()`,
      );
    }
    throwIfAborted(options.signal);
    const rowOptions = { longPrompts: this.longPrompts, weighting: this.weighting };
    const { rows, masks, weights, chunks } = alignPromptRows(tokenizer, prompts.map((p) => promptRows(tokenizer, p, rowOptions)));
    const { hiddenStates, pooled } = await this.encodeIds(rows, { signal: options.signal, attentionMask: masks });
    if (this.weighting) {
      const size = this.maxLength * this.hiddenSize;
      weights.forEach((w, r) => applyTokenWeights(hiddenStates.data.subarray(r * size, (r + 1) * size), w, this.hiddenSize));
    }
    // Rows are prompt-major, so [batch × chunks, 77, H] is already [batch, chunks × 77, H] in memory.
    const states = createTensor([prompts.length, chunks * this.maxLength, this.hiddenSize], hiddenStates.data);
    if (!pooled) return { hiddenStates: states };
    const width = pooled.dims[1]!;
    const firstChunks = new Float32Array(prompts.length * width);
    for (let b = 0; b < prompts.length; b++) firstChunks.set(pooled.data.subarray(b * chunks * width, (b * chunks + 1) * width), b * width);
    return { hiddenStates: states, pooled: createTensor([prompts.length, width], firstChunks) };
  }

  /**
   * Runs the graph on token ids: one row per sequence, each `maxLength` ids (already framed and
   * padded). Returns `[rows, maxLength, hiddenSize]` and, when the graph has one, the pooled output.
   *
   * @example
   * ```ts
   * const { hiddenStates } = await encoder.encodeIds([tokenizer.encode('a red circle')]);
   * ```
   */
  async encodeIds(rows: readonly (readonly number[])[], options: EncodeIdsOptions = {}): Promise<TextEncoderOutput> {
    const session = this.session.session;
    if (!Array.isArray(rows) || rows.length === 0) {
      throw new InvalidArgumentError({ name: 'rows', expected: 'a non-empty array of token-id arrays', actual: rows });
    }
    const length = this.maxLength;
    const mask = this.graph.hasAttentionMask ? new BigInt64Array(rows.length * length) : undefined;
    rows.forEach((row, r) => {
      if (!Array.isArray(row) || row.length !== length) {
        throw new InvalidArgumentError({ name: `rows[${r}]`, expected: `${length} token ids`, actual: row, hint: 'frame and pad the ids with tokenizer.encode()' });
      }
      row.forEach((id, t) => {
        if (!Number.isInteger(id) || id < 0) throw new InvalidArgumentError({ name: `rows[${r}][${t}]`, expected: 'a token id (integer ≥ 0)', actual: id });
      });
      if (mask) this.fillAttentionMask(mask, row, r, options.attentionMask?.[r]);
    });
    const ids = tokenIdData(this.inputIdsType, rows, length);
    throwIfAborted(options.signal);
    const feeds: Record<string, ort.Tensor> = { input_ids: new this.ort.Tensor(this.inputIdsType, ids, [rows.length, length]) };
    if (mask) feeds.attention_mask = new this.ort.Tensor('int64', mask, [rows.length, length]);
    const { statesOutput, pooledOutput, finalLayerNorm } = this.graph;
    const results = await session.run(feeds, pooledOutput ? [statesOutput, pooledOutput] : [statesOutput]);
    throwIfAborted(options.signal);
    const hiddenStates = fromOrtFloat32(results[statesOutput]!, statesOutput);
    if (finalLayerNorm) layerNormRows(hiddenStates.data, finalLayerNorm);
    if (!pooledOutput) return { hiddenStates };
    return { hiddenStates, pooled: fromOrtFloat32(results[pooledOutput]!, pooledOutput) };
  }

  /** Releases the onnxruntime session. Further calls to `encode` throw a {@link StateError}. */
  async dispose(): Promise<void> {
    await this.session.release();
  }

  /** The given mask, or ones up to and including the first `<|endoftext|>`, as the tokenizer makes it. */
  private fillAttentionMask(mask: BigInt64Array, row: readonly number[], r: number, given: readonly number[] | undefined): void {
    if (given !== undefined) {
      if (!Array.isArray(given) || given.length !== row.length || !given.every((v) => v === 0 || v === 1)) {
        throw new InvalidArgumentError({ name: `attentionMask[${r}]`, expected: `${row.length} zeros and ones`, actual: given });
      }
      given.forEach((v, t) => (mask[r * row.length + t] = BigInt(v)));
      return;
    }
    const stop = row.indexOf(this.tokenizer?.endOfTextId ?? CLIP_END_OF_TEXT_ID);
    const last = stop < 0 ? row.length - 1 : stop;
    for (let t = 0; t <= last; t++) mask[r * row.length + t] = 1n;
  }
}

async function findTokenizer(candidates: readonly string[]): Promise<CLIPTokenizer | undefined> {
  const dir = await firstFolderWith(candidates, ['tokenizer.json', 'vocab.json']);
  return dir === undefined ? undefined : CLIPTokenizer.fromPretrained(dir);
}

function validateOptions(options: CLIPTextEncoderOptions): void {
  const { clipSkip, longPrompts, weighting, tokenizer } = options;
  if (clipSkip !== undefined && (!Number.isInteger(clipSkip) || clipSkip < 0)) {
    throw new InvalidArgumentError({ name: 'clipSkip', expected: 'an integer ≥ 0 (1 = the penultimate layer)', actual: clipSkip });
  }
  if (longPrompts !== undefined && longPrompts !== 'truncate' && longPrompts !== 'chunk') {
    throw new InvalidArgumentError({ name: 'longPrompts', expected: "'truncate' or 'chunk'", actual: longPrompts });
  }
  if (weighting !== undefined && typeof weighting !== 'boolean') {
    throw new InvalidArgumentError({ name: 'weighting', expected: 'a boolean', actual: weighting });
  }
  if (tokenizer !== undefined && !(tokenizer instanceof CLIPTokenizer)) {
    throw new InvalidArgumentError({ name: 'tokenizer', expected: 'a CLIPTokenizer', actual: tokenizer });
  }
}
