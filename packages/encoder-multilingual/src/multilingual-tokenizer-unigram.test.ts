import { MultilingualTokenizer } from './multilingual-tokenizer';

/**
 * An XLM-R-shaped tokenizer.json (SentencePiece Unigram, Metaspace "▁", `<s> $A </s>`, `<pad>` = 1)
 * over a handful of pieces, written out here so the expected ids can be read off the vocabulary.
 */
const PIECES: [string, number][] = [
  ['<s>', 0], ['<pad>', 0], ['</s>', 0], ['<unk>', 0],
  ['▁', -2], ['▁un', -3], ['▁chat', -3], ['▁rouge', -3], ['▁ein', -3], ['▁rot', -3], ['er', -4], ['▁kreis', -3],
  ['r', -6], ['o', -6], ['u', -6], ['g', -6], ['e', -6], ['s', -6], ['t', -6], ['▁红', -3], ['色', -3],
];
const special = (content: string, id: number) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
const xlmrShaped = {
  version: '1.0',
  truncation: null,
  padding: null,
  added_tokens: [special('<s>', 0), special('<pad>', 1), special('</s>', 2), special('<unk>', 3)],
  normalizer: { type: 'Sequence', normalizers: [{ type: 'Replace', pattern: { Regex: ' {2,}' }, content: ' ' }] },
  pre_tokenizer: { type: 'Metaspace', replacement: '▁', add_prefix_space: true, prepend_scheme: 'always', split: true },
  post_processor: {
    type: 'TemplateProcessing',
    single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
    pair: [],
    special_tokens: { '<s>': { id: '<s>', ids: [0], tokens: ['<s>'] }, '</s>': { id: '</s>', ids: [2], tokens: ['</s>'] } },
  },
  decoder: { type: 'Metaspace', replacement: '▁', add_prefix_space: true, prepend_scheme: 'always', split: true },
  model: { type: 'Unigram', unk_id: 3, vocab: PIECES, byte_fallback: false },
};
const id = (piece: string) => PIECES.findIndex(([p]) => p === piece);

describe('MultilingualTokenizer on an XLM-R-shaped Unigram tokenizer.json (exact ids)', () => {
  const tokenizer = MultilingualTokenizer.fromJSON(xlmrShaped, { model_max_length: 77, pad_token: '<pad>' });

  it('segments with the Unigram model and frames with <s> … </s>', () => {
    expect(tokenizer.encode('un chat rouge', { padding: false })).toEqual([0, id('▁un'), id('▁chat'), id('▁rouge'), 2]);
    expect(tokenizer.encode('ein roter kreis', { padding: false })).toEqual([0, id('▁ein'), id('▁rot'), id('er'), id('▁kreis'), 2]);
    expect(tokenizer.encode('红色', { padding: false })).toEqual([0, id('▁红'), id('色'), 2]);
  });

  it('pads with <pad> (1) and truncates keeping </s>', () => {
    const padded = tokenizer.tokenize('un chat');
    expect(padded.ids.slice(0, 5)).toEqual([0, id('▁un'), id('▁chat'), 2, 1]);
    expect(padded.attentionMask.slice(0, 5)).toEqual([1, 1, 1, 1, 0]);
    const long = tokenizer.encode('chat '.repeat(100));
    expect(long).toHaveLength(77);
    expect([long[0], long[75], long[76]]).toEqual([0, id('▁chat'), 2]);
  });
});
