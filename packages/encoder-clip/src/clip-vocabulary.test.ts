import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from '@latentkit/core';
import { CLIP_END_OF_TEXT_ID, CLIP_START_OF_TEXT_ID, CLIP_VOCABULARY_SIZE, buildClipVocabulary, byteLevelAlphabet, readClipMergesFile } from './clip-vocabulary';
import { describeWithShared, sharedPath } from './__fixtures__/shared-data';

describe('byteLevelAlphabet', () => {
  it('maps 256 bytes to 256 distinct printable characters, printable ASCII first', () => {
    const alphabet = byteLevelAlphabet();
    expect(new Set(alphabet).size).toBe(256);
    expect(alphabet.slice(0, 3)).toEqual(['!', '"', '#']);
    expect(alphabet[188]).toBe('\u0100'); // byte 0x00, the first non-printable byte
  });
});

describe('buildClipVocabulary', () => {
  it('refuses text that is not a CLIP merges file', () => {
    expect(() => buildClipVocabulary('#version: 0.2\ni n\n')).toThrow(InvalidArgumentError);
  });
});

describeWithShared("CLIP's vocabulary from OpenAI's merges file", 'data/clip/bpe_simple_vocab_16e6.txt.gz')(
  "CLIP's vocabulary from OpenAI's merges file",
  () => {
    it("equals the tiny-sd tokenizer's vocab.json entry for entry (49,408 tokens)", async () => {
      const { vocab, merges } = await readClipMergesFile(sharedPath('data/clip/bpe_simple_vocab_16e6.txt.gz'));
      expect(Object.keys(vocab)).toHaveLength(CLIP_VOCABULARY_SIZE);
      expect(merges).toHaveLength(48894);
      expect(vocab['<|startoftext|>']).toBe(CLIP_START_OF_TEXT_ID);
      expect(vocab['<|endoftext|>']).toBe(CLIP_END_OF_TEXT_ID);
      const reference = JSON.parse(readFileSync(sharedPath('reference/tiny-sd/onnx/tokenizer/vocab.json'), 'utf8'));
      expect(vocab).toEqual(reference);
    });
  },
);
