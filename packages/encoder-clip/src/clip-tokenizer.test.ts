import { promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InvalidArgumentError, ModelLoadError } from '@latentkit/core';
import { CLIPTokenizer } from './clip-tokenizer';
import { buildClipTokenizerJson } from './clip-tokenizer-json';
import { describeWithShared, sharedPath } from './__fixtures__/shared-data';

interface CorpusCase {
  text: string;
  input_ids: number[];
  untruncated_ids: number[];
}

const TINY_SD = 'reference/tiny-sd/onnx';
const CORPUS = 'reference/tokenizer/corpus_public.json';
const isAscii = (text: string) => [...text].every((c) => c.charCodeAt(0) < 0x80);

describeWithShared('CLIPTokenizer on the public corpus', CORPUS)('CLIPTokenizer on the public corpus (exact ids, tolerance 0)', () => {
  const cases: CorpusCase[] = JSON.parse(readFileSync(sharedPath(CORPUS), 'utf8')).cases;
  let fromFolder: CLIPTokenizer;
  let fromMerges: CLIPTokenizer;
  let slowCompatible: CLIPTokenizer;

  beforeAll(async () => {
    fromFolder = await CLIPTokenizer.fromPretrained(sharedPath(TINY_SD));
    fromMerges = await CLIPTokenizer.fromMergesFile(sharedPath('data/clip/bpe_simple_vocab_16e6.txt.gz'));
    slowCompatible = await CLIPTokenizer.fromPretrained(sharedPath(TINY_SD), { slowTokenizerCompatible: true });
  });

  it('matches every ASCII / Latin prompt, padded and truncated to 77 and bare', () => {
    const latin = cases.filter((c) => isAscii(c.text) || /^[\p{Script=Latin}\p{P}\p{N}\s]*$/u.test(c.text));
    expect(latin.length).toBeGreaterThan(100);
    for (const c of latin) {
      expect({ text: c.text, ids: fromFolder.encode(c.text) }).toEqual({ text: c.text, ids: c.input_ids });
      expect({ text: c.text, ids: fromFolder.encode(c.text, { padding: false, truncation: false }) }).toEqual({
        text: c.text,
        ids: c.untruncated_ids,
      });
    }
  });

  it('gives the same ids when built from OpenAI\'s merges file', () => {
    for (const c of cases.filter((c) => isAscii(c.text))) {
      expect({ text: c.text, ids: fromMerges.encode(c.text) }).toEqual({ text: c.text, ids: c.input_ids });
    }
  });

  it('matches the whole corpus, CJK included, with slowTokenizerCompatible (the slow tokenizer without ftfy)', () => {
    for (const c of cases) {
      expect({ text: c.text, ids: slowCompatible.encode(c.text) }).toEqual({ text: c.text, ids: c.input_ids });
    }
  });

  it('differs from the reference only on CJK ideographs by default (the fast tokenizer keeps 日本語 one word)', () => {
    const differing = cases.filter((c) => JSON.stringify(fromFolder.encode(c.text)) !== JSON.stringify(c.input_ids));
    expect(differing.map((c) => c.text)).toEqual(cases.filter((c) => /\p{Script=Han}/u.test(c.text)).map((c) => c.text));
  });

  it('loads a tokenizer/ folder, and a folder holding only tokenizer.json, to the same ids', async () => {
    const fromTokenizerDir = await CLIPTokenizer.fromPretrained(sharedPath(`${TINY_SD}/tokenizer`));
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'latentkit-clip-'));
    const vocab = JSON.parse(readFileSync(sharedPath(`${TINY_SD}/tokenizer/vocab.json`), 'utf8'));
    const merges = readFileSync(sharedPath(`${TINY_SD}/tokenizer/merges.txt`), 'utf8').split('\n').slice(1).filter(Boolean);
    await fs.writeFile(path.join(dir, 'tokenizer.json'), JSON.stringify(buildClipTokenizerJson({ vocab, merges })));
    await fs.writeFile(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ model_max_length: 77, pad_token: '!' }));
    const fromJson = await CLIPTokenizer.fromPretrained(dir);
    const fromJsonSlow = await CLIPTokenizer.fromPretrained(dir, { slowTokenizerCompatible: true, padToken: '<|endoftext|>' });
    await fs.rm(dir, { recursive: true });
    for (const c of cases) expect({ text: c.text, ids: fromJsonSlow.encode(c.text) }).toEqual({ text: c.text, ids: c.input_ids });
    expect(fromJson.padTokenId).toBe(0);
    for (const c of cases.filter((c) => isAscii(c.text))) {
      expect(fromTokenizerDir.encode(c.text)).toEqual(c.input_ids);
      expect(fromJson.encode(c.text, { padding: false, truncation: false })).toEqual(c.untruncated_ids);
    }
  });

  it('slowTokenizerCompatible deletes control and format characters as BasicTokenizer does; the fast default byte-encodes them', () => {
    // U+200B zero-width space and U+00AD soft hyphen (Cf), U+0007 bell and U+000B vertical tab (Cc), U+FFFD.
    const withoutThem = (text: string) => [...text].filter((c) => !['\u200b', '\u00ad', '\u0007', '\uFFFD'].includes(c)).join('');
    for (const text of ['a\u200bred circle', 'a re\u00add circle', 'a red\u0007 circle', 'a red \uFFFD circle']) {
      expect({ text, ids: slowCompatible.encode(text) }).toEqual({ text, ids: slowCompatible.encode(withoutThem(text)) });
      expect({ text, ids: fromFolder.encode(text) }).not.toEqual({ text, ids: fromFolder.encode(withoutThem(text)) });
    }
    // Tab, line feed and carriage return stay whitespace.
    expect(slowCompatible.encode('a\tred\ncircle\r')).toEqual(slowCompatible.encode('a red circle'));
  });

  it('reads model_max_length and the pad token, and returns the attention mask', () => {
    expect(fromFolder.maxLength).toBe(77);
    expect(fromFolder.padTokenId).toBe(49407);
    const { ids, attentionMask } = fromFolder.tokenize('a red circle');
    expect(ids.slice(0, 6)).toEqual([49406, 320, 736, 7117, 49407, 49407]);
    expect(attentionMask.slice(0, 6)).toEqual([1, 1, 1, 1, 1, 0]);
    expect(ids).toHaveLength(77);
  });

  it('pads with "!" (id 0) when told to, as SD 2.x does', async () => {
    const sd2 = await CLIPTokenizer.fromPretrained(sharedPath(TINY_SD), { padToken: '!' });
    expect(sd2.padTokenId).toBe(0);
    expect(sd2.encode('a red circle').slice(4, 7)).toEqual([49407, 0, 0]);
  });

  describe('bad input', () => {
    it('refuses a non-string prompt with an InvalidArgumentError', () => {
      expect(() => fromFolder.encode(42 as unknown as string)).toThrow(InvalidArgumentError);
      expect(() => fromFolder.encode(undefined as unknown as string)).toThrow(/text must be a string, got undefined/);
    });

    it('truncates an over-long prompt to 77 ids ending with <|endoftext|>, and keeps every id when asked', () => {
      const text = 'word '.repeat(20000);
      const ids = fromFolder.encode(text);
      expect(ids).toHaveLength(77);
      expect(ids[76]).toBe(49407);
      expect(fromFolder.encode(text, { truncation: false, padding: false })).toHaveLength(20002);
    });

    it('replaces lone surrogates by U+FFFD instead of failing', () => {
      expect(fromFolder.encode('a \uD83D cat')).toEqual(fromFolder.encode('a \uFFFD cat'));
      expect(fromFolder.encode('a \uDE00 cat')).toEqual(fromFolder.encode('a \uFFFD cat'));
      expect(fromFolder.encode('a 😀 cat')).not.toEqual(fromFolder.encode('a \uFFFD cat'));
    });

    it('names the folder and the fix when a special token is not in the vocabulary', async () => {
      await expect(CLIPTokenizer.fromPretrained(sharedPath(TINY_SD), { padToken: '<pad>' })).rejects.toThrow(
        /tokenizer: pad_token "<pad>" is not in the vocabulary: fix tokenizer_config.json or pass the token explicitly/,
      );
    });

    it('explains a folder without tokenizer files', async () => {
      await expect(CLIPTokenizer.fromPretrained(sharedPath('reference/tiny-sd/onnx/unet'))).rejects.toThrow(ModelLoadError);
      await expect(CLIPTokenizer.fromPretrained(sharedPath('reference/tiny-sd/onnx/unet'))).rejects.toThrow(/neither tokenizer.json nor vocab.json/);
    });
  });
});
