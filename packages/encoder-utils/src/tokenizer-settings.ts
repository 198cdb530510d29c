/**
 * What a tokenizer folder says besides its vocabulary: `tokenizer_config.json` (and
 * `special_tokens_map.json`) give `model_max_length` and the special tokens, each either a string
 * or an `AddedToken` object `{ content, … }`.
 */
import * as path from 'node:path';
import { ModelLoadError, exists, readJsonObject, type JsonObject } from '@latentkit/core';

/** The settings of a tokenizer folder that latentkit uses. */
export interface TokenizerSettings {
  /** `model_max_length`, when it is a real length (HF writes 1e30 for "no limit"). */
  readonly maxLength?: number;
  readonly padToken?: string;
  readonly bosToken?: string;
  readonly eosToken?: string;
  readonly unkToken?: string;
  /** `tokenizer_config.json` as parsed (empty when there is none). */
  readonly raw: JsonObject;
}

/** Longest `model_max_length` taken literally; transformers writes `int(1e30)` to mean "unset". */
const LARGEST_REAL_MODEL_LENGTH = 1_000_000;

function tokenContent(value: unknown, file: string, key: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string') {
    return (value as { content: string }).content;
  }
  throw new ModelLoadError({ path: file, reason: `$.${key} must be a token string or { "content": string }, found ${JSON.stringify(value)}` });
}

/**
 * Reads `tokenizer_config.json` and `special_tokens_map.json` of a tokenizer folder; both are optional.
 *
 * @example
 * ```ts
 * const settings = await readTokenizerSettings('models/sd21-onnx/tokenizer');
 * settings.padToken; // '!'
 * ```
 */
export async function readTokenizerSettings(dir: string): Promise<TokenizerSettings> {
  const configFile = path.join(dir, 'tokenizer_config.json');
  const mapFile = path.join(dir, 'special_tokens_map.json');
  const config = (await exists(configFile)) ? await readJsonObject(configFile) : {};
  const map = (await exists(mapFile)) ? await readJsonObject(mapFile) : {};
  const token = (key: string) => tokenContent(config[key], configFile, key) ?? tokenContent(map[key], mapFile, key);
  const length = config.model_max_length;
  if (length !== undefined && (typeof length !== 'number' || !Number.isInteger(length) || length < 2)) {
    throw new ModelLoadError({ path: configFile, reason: `$.model_max_length must be an integer ≥ 2, found ${JSON.stringify(length)}` });
  }
  return {
    maxLength: typeof length === 'number' && length <= LARGEST_REAL_MODEL_LENGTH ? length : undefined,
    padToken: token('pad_token'),
    bosToken: token('bos_token'),
    eosToken: token('eos_token'),
    unkToken: token('unk_token'),
    raw: config,
  };
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Replaces lone UTF-16 surrogates (half of an emoji cut by a string slice) by U+FFFD, as
 * `TextEncoder` and `String.prototype.toWellFormed` do: they have no UTF-8 form to tokenize.
 *
 * @example
 * ```ts
 * toWellFormed('a\uD83D'); // 'a\uFFFD'
 * ```
 */
export function toWellFormed(text: string): string {
  LONE_SURROGATE.lastIndex = 0;
  return LONE_SURROGATE.test(text) ? text.replace(LONE_SURROGATE, '\uFFFD') : text;
}
