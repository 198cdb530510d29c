/**
 * CLIP's byte-pair-encoding vocabulary, rebuilt from OpenAI's merges file
 * (`bpe_simple_vocab_16e6.txt.gz`, MIT licence) exactly as `clip/simple_tokenizer.py` builds it.
 *
 * The 49,408 entries are, in order: the 256 byte-level characters (GPT-2's bytes-to-unicode table),
 * the same 256 with the end-of-word marker `</w>`, the concatenation of each of the first 48,894
 * merges (49,152 − 256 − 2), then `<|startoftext|>` (49406) and `<|endoftext|>` (49407).
 */
import { promises as fs } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { InvalidArgumentError, ModelLoadError } from '@latentkit/core';

/** The id of `<|startoftext|>` in CLIP's vocabulary. */
export const CLIP_START_OF_TEXT_ID = 49406;
/** The id of `<|endoftext|>` in CLIP's vocabulary (also its default padding and unknown token). */
export const CLIP_END_OF_TEXT_ID = 49407;
/** CLIP's vocabulary size: 512 byte tokens + 48,894 merges + 2 special tokens. */
export const CLIP_VOCABULARY_SIZE = 49408;
/** CLIP's end-of-word suffix: the last symbol of every word carries it. */
export const CLIP_END_OF_WORD = '</w>';

const CLIP_MERGE_COUNT = 49152 - 256 - 2;

/**
 * GPT-2's reversible byte → printable-character table (Radford et al. 2019, `encoder.py`):
 * printable Latin-1 bytes map to themselves, the other 68 bytes to U+0100 onwards, so that BPE
 * never sees whitespace or control characters. The list order is CLIP's vocabulary order.
 *
 * @example
 * ```ts
 * byteLevelAlphabet()[0]; // '!' (byte 0x21)
 * ```
 */
export function byteLevelAlphabet(): string[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const alphabet = printable.map((b) => String.fromCodePoint(b));
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    if (!printable.includes(b)) alphabet.push(String.fromCodePoint(256 + extra++));
  }
  return alphabet;
}

/** A BPE vocabulary and its ranked merges, as `vocab.json` and `merges.txt` hold them. */
export interface BpeVocabulary {
  /** Token → id. */
  readonly vocab: Record<string, number>;
  /** Merges in rank order, each `"left right"`. */
  readonly merges: readonly string[];
}

/**
 * Builds CLIP's vocabulary from the text of OpenAI's merges file (first line: a version header).
 *
 * @example
 * ```ts
 * const { vocab, merges } = buildClipVocabulary(readFileSync('merges.txt', 'utf8'));
 * vocab['a</w>']; // 320
 * ```
 */
export function buildClipVocabulary(mergesText: string): BpeVocabulary {
  if (typeof mergesText !== 'string') {
    throw new InvalidArgumentError({ name: 'mergesText', expected: "the text of CLIP's merges file", actual: mergesText });
  }
  const lines = mergesText.split('\n');
  const merges = lines.slice(1, 1 + CLIP_MERGE_COUNT).filter((line) => line.length > 0);
  if (merges.length !== CLIP_MERGE_COUNT) {
    throw new InvalidArgumentError({
      name: 'mergesText',
      expected: `at least ${CLIP_MERGE_COUNT} merges after the header line`,
      actual: `${merges.length} merges`,
      hint: "pass CLIP's bpe_simple_vocab_16e6.txt (gunzipped) or a CLIP tokenizer's merges.txt",
    });
  }
  const alphabet = byteLevelAlphabet();
  const tokens = [...alphabet, ...alphabet.map((c) => c + CLIP_END_OF_WORD)];
  for (const merge of merges) {
    const space = merge.indexOf(' ');
    if (space <= 0 || space === merge.length - 1) {
      throw new InvalidArgumentError({ name: 'mergesText', expected: 'merge lines of the form "left right"', actual: merge });
    }
    tokens.push(merge.slice(0, space) + merge.slice(space + 1));
  }
  tokens.push('<|startoftext|>', '<|endoftext|>');
  const vocab: Record<string, number> = {};
  tokens.forEach((token, id) => (vocab[token] = id));
  return { vocab, merges };
}

/**
 * Reads CLIP's merges file (`bpe_simple_vocab_16e6.txt.gz`, gzipped or not) and builds the vocabulary.
 *
 * @example
 * ```ts
 * const vocabulary = await readClipMergesFile('../shared/data/clip/bpe_simple_vocab_16e6.txt.gz');
 * ```
 */
export async function readClipMergesFile(file: string): Promise<BpeVocabulary> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (error) {
    throw new ModelLoadError({ path: file, reason: 'the merges file cannot be read', cause: error });
  }
  const isGzip = bytes.length > 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  let text: string;
  try {
    text = (isGzip ? gunzipSync(bytes) : bytes).toString('utf8');
  } catch (error) {
    throw new ModelLoadError({ path: file, reason: 'it looks gzipped but does not decompress', cause: error });
  }
  try {
    return buildClipVocabulary(text);
  } catch (error) {
    throw new ModelLoadError({ path: file, reason: error instanceof Error ? error.message : String(error), cause: error });
  }
}
