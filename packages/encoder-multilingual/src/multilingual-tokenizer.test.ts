import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError, ModelLoadError } from '@latentkit/core';
import { MultilingualTokenizer } from './multilingual-tokenizer';

const FIXTURES = path.resolve(__dirname, '../test-fixtures');
const TOKENIZER_DIR = path.join(FIXTURES, 'tiny-multilingual', 'tokenizer_multilingual');

describe('MultilingualTokenizer on the WordPiece fixture (exact ids)', () => {
  let tokenizer: MultilingualTokenizer;
  beforeAll(async () => {
    tokenizer = await MultilingualTokenizer.fromPretrained(TOKENIZER_DIR);
  });

  it('reads the length, pad id and template from tokenizer.json / tokenizer_config.json', () => {
    expect(tokenizer.maxLength).toBe(77);
    expect(tokenizer.padTokenId).toBe(0);
    expect(tokenizer.specialTokenCount).toBe(2);
  });

  it('lower-cases, splits CJK characters and punctuation, and falls back to ## pieces (BERT normaliser and pre-tokenizer)', () => {
    // [CLS] un chat rouge , 红 色 的 猫 z ##z ##q ##x [SEP], ids read off the fixture's vocabulary.
    expect(tokenizer.encode('Un chat ROUGE, 红色的猫 zzqx', { padding: false })).toEqual([2, 31, 44, 40, 144, 173, 174, 175, 178, 115, 172, 166, 170, 3]);
  });

  it('pads with [PAD] (0) to 77 and masks the padding', () => {
    const { ids, attentionMask } = tokenizer.tokenize('un chat rouge');
    expect(ids).toHaveLength(77);
    expect(ids.slice(0, 6)).toEqual([2, 31, 44, 40, 3, 0]);
    expect(attentionMask.slice(0, 6)).toEqual([1, 1, 1, 1, 1, 0]);
  });

  it('truncates to 77 keeping [CLS] … [SEP], and keeps everything when asked', () => {
    const text = 'chat '.repeat(200);
    const ids = tokenizer.encode(text);
    expect(ids).toHaveLength(77);
    expect([ids[0], ids[75], ids[76]]).toEqual([2, 44, 3]);
    expect(tokenizer.encode(text, { padding: false, truncation: false })).toHaveLength(202);
  });

  it('handles bad input: non-strings refused, lone surrogates replaced by U+FFFD', () => {
    expect(() => tokenizer.encode(7 as unknown as string)).toThrow(InvalidArgumentError);
    expect(tokenizer.encode('chat \uD800')).toEqual(tokenizer.encode('chat \uFFFD'));
  });

  it('explains a folder without tokenizer.json, and a tokenizer without a length', async () => {
    await expect(MultilingualTokenizer.fromPretrained(FIXTURES)).rejects.toThrow(ModelLoadError);
    const json = JSON.parse(readFileSync(path.join(TOKENIZER_DIR, 'tokenizer.json'), 'utf8'));
    expect(() => MultilingualTokenizer.fromJSON({ ...json, truncation: null, padding: null }, { pad_token: '[PAD]' })).toThrow(
      /add "model_max_length": 77 to tokenizer_config.json/,
    );
  });
});

// The project's own model (packages/model-tiny) ships a check file made by its Python tokenizer.
const MODEL_TINY = path.resolve(__dirname, '../../model-tiny/model/tokenizer_multilingual');
const CHECK = path.resolve(__dirname, '../../../tools/train-tiny/multilingual_tokenizer_check.json');
const describeModelTiny = existsSync(path.join(MODEL_TINY, 'tokenizer.json')) && existsSync(CHECK) ? describe : describe.skip;
if (describeModelTiny === describe.skip) console.warn(`Skipping the model-tiny tokenizer check: ${MODEL_TINY} or ${CHECK} is absent (the model is not trained yet).`);

describeModelTiny("MultilingualTokenizer on model-tiny's tokenizer_multilingual (exact ids)", () => {
  it('gives the ids of every case of its check file', async () => {
    const tokenizer = await MultilingualTokenizer.fromPretrained(MODEL_TINY);
    const cases = JSON.parse(readFileSync(CHECK, 'utf8')).cases as { text: string; input_ids: number[]; attention_mask: number[] }[];
    for (const c of cases) {
      const { ids, attentionMask } = tokenizer.tokenize(c.text);
      expect({ text: c.text, ids, attentionMask }).toEqual({ text: c.text, ids: c.input_ids, attentionMask: c.attention_mask });
    }
  });
});
