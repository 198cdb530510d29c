/**
 * `MultilingualTextEncoder`: a non-CLIP transformer encoder in CLIP's place, the way AltDiffusion
 * (XLM-R + a per-token linear map to 768) and Taiyi (a Chinese BERT of width 768) do it.
 *
 * What makes an encoder usable by a Stable Diffusion UNet: it must output one state per token,
 * `[batch, sequence, width]`, because the UNet's cross-attention attends over that sequence (its
 * keys and values are computed per token), and `width` must equal the UNet's
 * `cross_attention_dim`. An encoder that maps a prompt to one pooled vector (M-CLIP, sentence
 * embedders) has nothing to attend over and is refused with a {@link ComponentMismatchError}.
 * And the UNet must have been trained (or fine-tuned) on this encoder's space: a width match
 * alone makes the pipeline run, not the images right.
 */
import * as path from 'node:path';
import type * as ort from 'onnxruntime-node';
import {
  assertPromptList,
  ComponentMismatchError,
  ModelLoadError,
  createTensor,
  exists,
  fromOrtFloat32,
  throwIfAborted,
  type TextEncodeOptions,
  type TextEncoder,
  type TextEncoderOutput,
  type Tokenizer,
} from '@latentkit/core';
import { ReleasableSession, resolveOnnxComponent, withOnnxSession, type OnnxSessionOptions } from '@latentkit/onnx';
import { assertFromPretrainedArguments, assertTokenizerFitsPositions, firstFolderWith, tokenIdData, type TokenIdType } from '@latentkit/encoder-utils';
import { MultilingualTokenizer } from './multilingual-tokenizer';
import { PROJECTION_FILE, TokenProjection } from './token-projection';

export interface MultilingualTextEncoderOptions {
  /** onnxruntime or latentkit session options (threads, execution providers, optimisation level). */
  sessionOptions?: OnnxSessionOptions;
  /** The tokenizer to use instead of the one found beside the encoder. */
  tokenizer?: Tokenizer;
  /** Apply `projection.safetensors` when it is beside `model.onnx` (default true). */
  projection?: boolean;
}

/** Outputs that hold per-token states, in order of preference (AltDiffusion's projected states first). */
const PER_TOKEN_OUTPUTS = ['projection_state', 'last_hidden_state'];

/**
 * A multilingual (or any non-CLIP) ONNX text encoder producing per-token states.
 *
 * @example
 * ```ts
 * const encoder = await MultilingualTextEncoder.fromPretrained('models/tiny');
 * const { hiddenStates } = await encoder.encode(['', 'un cercle rouge']);
 * hiddenStates.dims; // [2, 77, 128]
 * ```
 */
export class MultilingualTextEncoder implements TextEncoder {
  readonly specificationVersion = 'v1' as const;
  readonly name = 'multilingual';
  readonly hiddenSize: number;
  readonly maxLength: number;
  readonly tokenizer: Tokenizer;
  /** The graph output read as per-token states. */
  readonly statesOutput: string;
  /** The projection applied after the graph, when one ships beside it. */
  readonly projection?: TokenProjection;
  private readonly session: ReleasableSession;
  private readonly ort: typeof import('onnxruntime-node');
  private readonly inputTypes: ReadonlyMap<string, TokenIdType>;

  private constructor(fields: {
    session: ort.InferenceSession;
    ort: typeof import('onnxruntime-node');
    hiddenSize: number;
    maxLength: number;
    tokenizer: Tokenizer;
    statesOutput: string;
    projection?: TokenProjection;
    inputTypes: ReadonlyMap<string, TokenIdType>;
  }) {
    this.session = new ReleasableSession(fields.session, 'MultilingualTextEncoder');
    this.ort = fields.ort;
    this.hiddenSize = fields.hiddenSize;
    this.maxLength = fields.maxLength;
    this.tokenizer = fields.tokenizer;
    this.statesOutput = fields.statesOutput;
    this.projection = fields.projection;
    this.inputTypes = fields.inputTypes;
  }

  /**
   * Loads from a model folder (`text_encoder_multilingual/` + `tokenizer_multilingual/`) or from
   * the encoder's own folder (`model.onnx`, `config.json`, optional `projection.safetensors`,
   * and `tokenizer.json` inside it or in a sibling `tokenizer_multilingual/`).
   */
  static async fromPretrained(folder: string, options: MultilingualTextEncoderOptions = {}): Promise<MultilingualTextEncoder> {
    assertFromPretrainedArguments(folder, options, 'the path of a model folder or of the encoder folder');
    const { componentDir, parentDir, modelFile, config } = await resolveOnnxComponent(folder, 'text_encoder_multilingual');
    const tokenizer = options.tokenizer ?? (await findTokenizer(parentDir, componentDir));
    const projectionFile = path.join(componentDir, PROJECTION_FILE);
    const projection = options.projection !== false && (await exists(projectionFile)) ? await TokenProjection.fromFile(projectionFile) : undefined;

    const ortModule = await import('onnxruntime-node');
    return withOnnxSession(modelFile, options.sessionOptions, (session) => {
      const inputTypes = new Map<string, TokenIdType>();
      for (const meta of session.inputMetadata) {
        const type = meta.isTensor ? meta.type : undefined;
        if (!['input_ids', 'attention_mask', 'token_type_ids'].includes(meta.name) || (type !== 'int32' && type !== 'int64')) {
          throw new ModelLoadError({
            path: modelFile,
            reason: `input '${meta.name}' (${String(type)}) is not one a text encoder is fed: expected int32/int64 input_ids, attention_mask, token_type_ids`,
          });
        }
        inputTypes.set(meta.name, type);
      }
      for (const meta of session.inputMetadata) {
        const length = meta.isTensor ? meta.shape[1] : undefined;
        if (typeof length === 'number' && length !== tokenizer.maxLength) {
          throw new ModelLoadError({
            path: modelFile,
            reason: `the graph takes ${meta.name} of length ${length} but the tokenizer makes ${tokenizer.maxLength}: set model_max_length to ${length} in tokenizer_config.json`,
          });
        }
      }
      if (!inputTypes.has('input_ids')) {
        throw new ModelLoadError({ path: modelFile, reason: "the graph has no 'input_ids' input: export it with input_names=['input_ids', 'attention_mask']" });
      }
      const statesOutput = choosePerTokenOutput(session, modelFile);
      const meta = session.outputMetadata.find((m) => m.name === statesOutput);
      const shape = meta && meta.isTensor ? meta.shape : [];
      const graphWidth = typeof shape[2] === 'number' ? shape[2] : undefined;
      const configWidth = [config.project_dim, config.projection_dim, config.hidden_size].find((v): v is number => typeof v === 'number');
      const stateWidth = graphWidth ?? (projection ? projection.inputSize : configWidth);
      if (projection && stateWidth !== undefined && stateWidth !== projection.inputSize) {
        throw new ComponentMismatchError({
          component: 'text_encoder_multilingual',
          field: 'projection input width',
          expected: stateWidth,
          actual: projection.inputSize,
          hint: `${PROJECTION_FILE} takes ${projection.inputSize}-wide states but '${statesOutput}' is ${stateWidth} wide: ship the projection trained with this encoder`,
        });
      }
      const hiddenSize = projection?.outputSize ?? stateWidth;
      if (hiddenSize === undefined) {
        throw new ModelLoadError({ path: componentDir, reason: `the width of '${statesOutput}' is symbolic: add "hidden_size" to config.json` });
      }
      assertTokenizerFitsPositions(componentDir, config, tokenizer.maxLength, `set model_max_length ≤ ${String(config.max_position_embeddings)} in tokenizer_config.json`);
      return new MultilingualTextEncoder({
        session,
        ort: ortModule,
        hiddenSize,
        maxLength: tokenizer.maxLength,
        tokenizer,
        statesOutput,
        projection,
        inputTypes,
      });
    });
  }

  /** Encodes prompts to `[batch, maxLength, hiddenSize]` per-token states (projected when a projection ships). */
  async encode(prompts: readonly string[], options: TextEncodeOptions = {}): Promise<TextEncoderOutput> {
    assertPromptList(prompts);
    const session = this.session.session;
    throwIfAborted(options.signal);
    const length = this.maxLength;
    const tokenized = prompts.map((prompt) => this.tokenizer.tokenize(prompt, { padding: true, truncation: true }));
    const feeds: Record<string, ort.Tensor> = {};
    const fill = (name: string, values: (t: (typeof tokenized)[number]) => readonly number[]) => {
      const type = this.inputTypes.get(name);
      if (!type) return;
      feeds[name] = new this.ort.Tensor(type, tokenIdData(type, tokenized.map(values), length), [prompts.length, length]);
    };
    fill('input_ids', (t) => t.ids);
    fill('attention_mask', (t) => t.attentionMask);
    fill('token_type_ids', () => []);
    const results = await session.run(feeds, [this.statesOutput]);
    throwIfAborted(options.signal);
    const states = fromOrtFloat32(results[this.statesOutput]!, this.statesOutput);
    const hiddenStates = this.projection ? this.projection.apply(states) : createTensor(states.dims, states.data);
    return { hiddenStates };
  }

  /** Releases the onnxruntime session. Further calls to `encode` throw a {@link StateError}. */
  async dispose(): Promise<void> {
    await this.session.release();
  }
}

async function findTokenizer(parentDir: string, componentDir: string): Promise<MultilingualTokenizer> {
  const candidates = [componentDir, path.join(parentDir, 'tokenizer_multilingual')];
  const dir = await firstFolderWith(candidates, ['tokenizer.json']);
  if (dir !== undefined) return MultilingualTokenizer.fromPretrained(dir);
  throw new ModelLoadError({
    path: componentDir,
    reason: `no tokenizer.json found in ${candidates.join(' or ')}: ship the encoder's tokenizer there or pass { tokenizer }`,
  });
}

/** The per-token output of the graph, or a refusal explaining why a pooled-only encoder cannot replace CLIP. */
function choosePerTokenOutput(session: ort.InferenceSession, modelFile: string): string {
  const shapes = new Map(session.outputMetadata.map((m) => [m.name, m.isTensor ? m.shape : []]));
  const named = PER_TOKEN_OUTPUTS.find((n) => shapes.get(n)?.length === 3);
  const found = named ?? session.outputNames.find((n) => shapes.get(n)?.length === 3);
  if (found) return found;
  const described = [...shapes].map(([n, s]) => `${n} [${s.map((d) => (typeof d === 'number' ? d : '?')).join(', ')}]`).join(', ');
  throw new ComponentMismatchError({
    component: `text encoder ${modelFile}`,
    field: 'output shape',
    expected: '[batch, sequence, width]',
    actual: described,
    hint: '',
    message:
      `The text encoder ${modelFile} outputs ${described}: one vector per prompt (M-CLIP style), not one per token. ` +
      "A Stable Diffusion UNet's cross-attention attends over a sequence of per-token states [batch, sequence, width], " +
      'so a pooled sentence embedding cannot replace CLIP. Use an encoder that outputs its per-token states ' +
      "(last_hidden_state, e.g. XLM-R as AltDiffusion does), projected to the UNet's cross_attention_dim.",
  });
}
