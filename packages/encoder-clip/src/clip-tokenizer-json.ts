/**
 * Writes the `tokenizer.json` of a CLIP tokenizer from `vocab.json` + `merges.txt`, so that a model
 * folder that ships only the slow tokenizer's files still runs on `@huggingface/tokenizers`.
 *
 * The pipeline is the one HuggingFace's `CLIPTokenizerFast` serialises: NFC, whitespace runs → one
 * space, lower-case; CLIP's split pattern (from OpenAI's `simple_tokenizer.py`); GPT-2 byte-level
 * characters; BPE with `</w>` on the last symbol of each word; `<|startoftext|> … <|endoftext|>`.
 */
import { CLIP_END_OF_TEXT_ID, CLIP_END_OF_WORD, CLIP_START_OF_TEXT_ID, type BpeVocabulary } from './clip-vocabulary';

/**
 * CLIP's pre-tokenisation pattern: the special tokens, English contractions, letter runs, single
 * digits (CLIP splits numbers digit by digit) and runs of other non-space characters.
 */
export const CLIP_SPLIT_PATTERN =
  "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";

/**
 * The CJK ideograph ranges that BERT's `BasicTokenizer._is_chinese_char` isolates. HuggingFace's
 * slow `CLIPTokenizer` falls back to that tokenizer when the `ftfy` package is missing, so it
 * splits `日本語` into three words where the fast tokenizer (and CLIP with ftfy) keeps one.
 */
export const CJK_IDEOGRAPH_PATTERN =
  '[\\x{4E00}-\\x{9FFF}\\x{3400}-\\x{4DBF}\\x{20000}-\\x{2A6DF}\\x{2A700}-\\x{2B73F}\\x{2B740}-\\x{2B81F}' +
  '\\x{2B820}-\\x{2CEAF}\\x{F900}-\\x{FAFF}\\x{2F800}-\\x{2FA1F}]';

/**
 * What `BasicTokenizer._clean_text` deletes: U+0000, U+FFFD and every "other" character
 * (categories Cc, Cf, Cs, Co, Cn: controls, zero-width and format characters, the BOM) except
 * tab, line feed and carriage return, which it turns into spaces.
 */
export const BASIC_TOKENIZER_DELETED_PATTERN = '(?![\\t\\n\\r])\\p{C}|\\x{FFFD}';

export interface ClipTokenizerJsonOptions {
  /** Id of `<|startoftext|>` (default: from the vocabulary, else 49406). */
  startOfTextId?: number;
  /** Id of `<|endoftext|>` (default: from the vocabulary, else 49407). */
  endOfTextId?: number;
}

/**
 * Builds a HuggingFace `tokenizer.json` object for CLIP.
 *
 * @example
 * ```ts
 * import { Tokenizer } from '@huggingface/tokenizers';
 * const json = buildClipTokenizerJson(await readClipMergesFile('bpe_simple_vocab_16e6.txt.gz'));
 * new Tokenizer(json, {}).encode('a red circle').ids; // [49406, 320, 736, 7117, 49407]
 * ```
 */
export function buildClipTokenizerJson(vocabulary: BpeVocabulary, options: ClipTokenizerJsonOptions = {}): Record<string, unknown> {
  const startId = options.startOfTextId ?? vocabulary.vocab['<|startoftext|>'] ?? CLIP_START_OF_TEXT_ID;
  const endId = options.endOfTextId ?? vocabulary.vocab['<|endoftext|>'] ?? CLIP_END_OF_TEXT_ID;
  const special = (id: number, content: string) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: true,
    special: true,
  });
  const pretokenizers: Record<string, unknown>[] = [
    { type: 'Split', pattern: { Regex: CLIP_SPLIT_PATTERN }, behavior: 'Removed', invert: true },
    { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
  ];
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(startId, '<|startoftext|>'), special(endId, '<|endoftext|>')],
    normalizer: {
      type: 'Sequence',
      normalizers: [{ type: 'NFC' }, { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' }, { type: 'Lowercase' }],
    },
    pre_tokenizer: { type: 'Sequence', pretokenizers },
    post_processor: {
      type: 'RobertaProcessing',
      sep: ['<|endoftext|>', endId],
      cls: ['<|startoftext|>', startId],
      trim_offsets: false,
      add_prefix_space: false,
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<|endoftext|>',
      continuing_subword_prefix: '',
      end_of_word_suffix: CLIP_END_OF_WORD,
      fuse_unk: false,
      byte_fallback: false,
      vocab: vocabulary.vocab,
      merges: vocabulary.merges,
    },
  };
}

/**
 * Returns a copy of a CLIP `tokenizer.json` that reproduces transformers' *slow* `CLIPTokenizer`
 * run without the `ftfy` package (its `BasicTokenizer` fallback): "other" characters and U+FFFD
 * are deleted before the whitespace clean-up, and CJK ideographs are isolated as words (a split
 * inserted before the byte-level step). Applying it twice changes nothing more.
 *
 * @example
 * ```ts
 * const slowCompatible = withSlowTokenizerCompatibility(JSON.parse(readFileSync('tokenizer.json', 'utf8')));
 * ```
 */
export function withSlowTokenizerCompatibility(tokenizerJson: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const deletion = { type: 'Replace', pattern: { Regex: BASIC_TOKENIZER_DELETED_PATTERN }, content: '' };
  const split = { type: 'Split', pattern: { Regex: CJK_IDEOGRAPH_PATTERN }, behavior: 'Isolated', invert: false };
  const same = (a: unknown) => (b: unknown) => JSON.stringify(a) === JSON.stringify(b);

  const normalizer = tokenizerJson.normalizer as { type?: string; normalizers?: Record<string, unknown>[] } | null | undefined;
  const normalizers = !normalizer ? [] : normalizer.type === 'Sequence' ? [...(normalizer.normalizers ?? [])] : [normalizer as Record<string, unknown>];
  if (!normalizers.some(same(deletion))) {
    // Before the whitespace clean-up: a deleted character must not separate two words.
    const whitespace = normalizers.findIndex((n) => n.type === 'Replace');
    normalizers.splice(whitespace < 0 ? 0 : whitespace, 0, deletion);
  }

  const preTokenizer = tokenizerJson.pre_tokenizer as { type?: string; pretokenizers?: Record<string, unknown>[] } | null | undefined;
  const steps = !preTokenizer ? [] : preTokenizer.type === 'Sequence' ? [...(preTokenizer.pretokenizers ?? [])] : [preTokenizer as Record<string, unknown>];
  if (!steps.some(same(split))) {
    const byteLevel = steps.findIndex((step) => step.type === 'ByteLevel');
    steps.splice(byteLevel < 0 ? steps.length : byteLevel, 0, split);
  }
  return {
    ...tokenizerJson,
    normalizer: { type: 'Sequence', normalizers },
    pre_tokenizer: { type: 'Sequence', pretokenizers: steps },
  };
}
