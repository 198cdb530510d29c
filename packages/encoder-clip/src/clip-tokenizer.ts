/**
 * `CLIPTokenizer`: HuggingFace's CLIP tokenizer, id for id, on `@huggingface/tokenizers`.
 *
 * Padding and truncation follow `transformers`' `padding="max_length", truncation=True`: the
 * prompt's tokens are cut to `maxLength − 2` so that `<|startoftext|>` and `<|endoftext|>` always
 * frame them, then the sequence is padded with the pad token (`<|endoftext|>` for SD 1.x, `!`
 * (id 0) for SD 2.x) up to `maxLength` (77).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import {
  InvalidArgumentError,
  ModelLoadError,
  exists,
  readJsonObject,
  type JsonObject,
  type TokenizeOptions,
  type TokenizedText,
  type Tokenizer,
} from '@latentkit/core';
import { buildClipTokenizerJson, withSlowTokenizerCompatibility } from './clip-tokenizer-json';
import { readClipMergesFile, type BpeVocabulary } from './clip-vocabulary';
import { createHuggingFaceTokenizer, readTokenizerSettings, toWellFormed, type HuggingFaceTokenizer, type TokenizerSettings } from '@latentkit/encoder-utils';

export interface CLIPTokenizerOptions {
  /** Overrides `model_max_length` (77 for every Stable Diffusion CLIP). */
  maxLength?: number;
  /** Overrides the pad token of `tokenizer_config.json` (e.g. `'!'` for SD 2.x). */
  padToken?: string;
  /**
   * Reproduce transformers' slow `CLIPTokenizer` without `ftfy`: CJK ideographs isolated as words,
   * control and format characters deleted (default false: the fast tokenizer's behaviour, and
   * OpenAI CLIP's). See the README.
   */
  slowTokenizerCompatible?: boolean;
}

/**
 * The CLIP tokenizer of Stable Diffusion 1.x / 2.x.
 *
 * @example
 * ```ts
 * const tokenizer = await CLIPTokenizer.fromPretrained('models/sd15-onnx');
 * tokenizer.encode('a red circle'); // [49406, 320, 736, 7117, 49407, 49407, …] (77 ids)
 * tokenizer.encode('a red circle', { padding: false, truncation: false }); // [49406, 320, 736, 7117, 49407]
 * ```
 */
export class CLIPTokenizer implements Tokenizer {
  readonly specificationVersion = 'v1' as const;
  readonly maxLength: number;
  readonly padTokenId: number;
  /** Id of `<|startoftext|>` (49406). */
  readonly startOfTextId: number;
  /** Id of `<|endoftext|>` (49407). */
  readonly endOfTextId: number;
  private readonly backend: HuggingFaceTokenizer;
  /** Where the tokenizer came from, for messages. */
  private readonly source: string;

  private constructor(backend: HuggingFaceTokenizer, settings: TokenizerSettings, options: CLIPTokenizerOptions, source: string) {
    this.backend = backend;
    this.source = source;
    const maxLength = options.maxLength ?? settings.maxLength ?? 77;
    if (!Number.isInteger(maxLength) || maxLength < 2) {
      throw new InvalidArgumentError({ name: 'maxLength', expected: 'an integer ≥ 2 (77 for CLIP)', actual: maxLength });
    }
    this.maxLength = maxLength;
    this.startOfTextId = this.idOf(settings.bosToken ?? '<|startoftext|>', 'bos_token');
    this.endOfTextId = this.idOf(settings.eosToken ?? '<|endoftext|>', 'eos_token');
    this.padTokenId = this.idOf(options.padToken ?? settings.padToken ?? settings.eosToken ?? '<|endoftext|>', 'pad_token');
  }

  /**
   * Loads the tokenizer of a model folder (its `tokenizer/`) or of a tokenizer folder: its
   * `tokenizer.json`, or `vocab.json` + `merges.txt`, with `tokenizer_config.json` for
   * `model_max_length` and the special tokens.
   */
  static async fromPretrained(folder: string, options: CLIPTokenizerOptions = {}): Promise<CLIPTokenizer> {
    if (typeof folder !== 'string' || folder.length === 0) {
      throw new InvalidArgumentError({ name: 'folder', expected: 'the path of a model folder or its tokenizer/ folder', actual: folder });
    }
    if (typeof options !== 'object' || options === null) {
      throw new InvalidArgumentError({ name: 'options', expected: '{ maxLength?, padToken?, slowTokenizerCompatible? }', actual: options });
    }
    const dir = (await exists(path.join(folder, 'tokenizer'))) ? path.join(folder, 'tokenizer') : folder;
    const settings = await readTokenizerSettings(dir);
    const tokenizerJsonFile = path.join(dir, 'tokenizer.json');
    let json: JsonObject;
    if (await exists(tokenizerJsonFile)) {
      json = await readJsonObject(tokenizerJsonFile);
    } else {
      const vocabFile = path.join(dir, 'vocab.json');
      const mergesFile = path.join(dir, 'merges.txt');
      if (!(await exists(vocabFile)) || !(await exists(mergesFile))) {
        throw new ModelLoadError({
          path: dir,
          reason: 'it holds neither tokenizer.json nor vocab.json + merges.txt: pass a CLIP tokenizer folder (or the model folder above it)',
        });
      }
      const vocab = await readJsonObject(vocabFile);
      const merges = (await fs.readFile(mergesFile, 'utf8'))
        .split('\n')
        .filter((line, i) => line.length > 0 && !(i === 0 && line.startsWith('#version')));
      assertMergesFitVocabulary(mergesFile, vocabFile, merges, vocab);
      json = buildClipTokenizerJson({ vocab: vocab as Record<string, number>, merges });
    }
    if (options.slowTokenizerCompatible) json = withSlowTokenizerCompatibility(json);
    return new CLIPTokenizer(createHuggingFaceTokenizer(json, settings.raw, tokenizerJsonFile), settings, options, dir);
  }

  /**
   * Builds the tokenizer from OpenAI's merges file (`bpe_simple_vocab_16e6.txt.gz`, gzipped or not).
   *
   * @example
   * ```ts
   * const tokenizer = await CLIPTokenizer.fromMergesFile('../shared/data/clip/bpe_simple_vocab_16e6.txt.gz');
   * ```
   */
  static async fromMergesFile(file: string, options: CLIPTokenizerOptions = {}): Promise<CLIPTokenizer> {
    return CLIPTokenizer.fromVocabulary(await readClipMergesFile(file), options);
  }

  /** Builds the tokenizer from a vocabulary and its merges (`vocab.json` + `merges.txt`). */
  static fromVocabulary(vocabulary: BpeVocabulary, options: CLIPTokenizerOptions = {}): CLIPTokenizer {
    const fast = buildClipTokenizerJson(vocabulary);
    const json = options.slowTokenizerCompatible ? withSlowTokenizerCompatibility(fast) : fast;
    return new CLIPTokenizer(createHuggingFaceTokenizer(json, {}, 'tokenizer.json'), { raw: {} }, options, 'the CLIP vocabulary');
  }

  /** Token ids of one prompt, padded and truncated to `maxLength` unless told otherwise. */
  encode(text: string, options?: TokenizeOptions): number[] {
    // frame() returns fresh arrays, so the ids can be handed out without a copy.
    return this.tokenize(text, options).ids as number[];
  }

  /** Ids and attention mask of one prompt. */
  tokenize(text: string, options: TokenizeOptions = {}): TokenizedText {
    return this.frame(this.encodeWords(text), options);
  }

  /**
   * The prompt's own token ids: no `<|startoftext|>` / `<|endoftext|>`, no truncation. Long-prompt
   * chunking and prompt weighting work on these.
   */
  encodeWords(text: string): number[] {
    if (typeof text !== 'string') {
      throw new InvalidArgumentError({ name: 'text', expected: 'a string', actual: text, hint: 'pass the prompt as a string' });
    }
    return this.backend.encode(toWellFormed(text), { add_special_tokens: false }).ids;
  }

  /**
   * Frames word ids with `<|startoftext|>` … `<|endoftext|>`, cutting them to `maxLength − 2`
   * (truncation) and padding with the pad token up to `maxLength` (padding), both on by default.
   */
  frame(wordIds: readonly number[], options: TokenizeOptions = {}): TokenizedText {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidArgumentError({ name: 'options', expected: '{ padding?: boolean, truncation?: boolean }', actual: options });
    }
    const { padding = true, truncation = true } = options;
    const wordCount = truncation ? Math.min(wordIds.length, this.maxLength - 2) : wordIds.length;
    const length = padding ? Math.max(wordCount + 2, this.maxLength) : wordCount + 2;
    const ids = new Array<number>(length).fill(this.padTokenId);
    const attentionMask = new Array<number>(length).fill(0);
    ids[0] = this.startOfTextId;
    for (let i = 0; i < wordCount; i++) ids[i + 1] = wordIds[i]!;
    ids[wordCount + 1] = this.endOfTextId;
    attentionMask.fill(1, 0, wordCount + 2);
    return { ids, attentionMask };
  }

  private idOf(token: string, what: string): number {
    const id = this.backend.token_to_id(token);
    if (id === undefined) {
      throw new ModelLoadError({
        path: this.source,
        reason: `${what} ${JSON.stringify(token)} is not in the vocabulary: fix tokenizer_config.json or pass the token explicitly (e.g. { padToken: '!' })`,
      });
    }
    return id;
  }
}

/**
 * A byte-level BPE vocabulary is its 256 byte symbols (twice: inside a word and with `</w>` at its
 * end), one entry per merge, and the special tokens: `vocab.json` and `merges.txt` must agree. An
 * empty or truncated merges.txt would otherwise tokenize every word to single bytes (28 ids instead
 * of 9 for "a red circle on a blue background"), ids the text encoder never learned together.
 */
function assertMergesFitVocabulary(mergesFile: string, vocabFile: string, merges: readonly string[], vocab: Readonly<Record<string, unknown>>): void {
  const vocabSize = Object.keys(vocab).length;
  const specials = Object.keys(vocab).filter((token) => /^<\|.*\|>$/.test(token)).length;
  const expected = vocabSize - 512 - specials;
  if (merges.length === 0) {
    throw new ModelLoadError({
      path: mergesFile,
      reason: `it holds no merges, but ${vocabFile} has ${vocabSize} tokens (${expected} of them merges): restore the merges.txt that came with this vocab.json (CLIP's has 48,894 "left right" lines)`,
    });
  }
  const malformed = merges.findIndex((line) => line.split(' ').length !== 2);
  if (malformed >= 0) {
    throw new ModelLoadError({ path: mergesFile, reason: `line ${malformed + 2} is ${JSON.stringify(merges[malformed])}, not a merge "left right": the file is damaged; restore it` });
  }
  if (expected > 0 && merges.length < expected) {
    throw new ModelLoadError({
      path: mergesFile,
      reason:
        `it holds ${merges.length} merges but ${vocabFile} has ${vocabSize} tokens, which need ${expected} (${vocabSize} − 512 byte symbols − ${specials} special tokens): ` +
        'the file is truncated or belongs to another tokenizer; restore the merges.txt that came with this vocab.json',
    });
  }
}
