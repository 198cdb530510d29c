import * as path from 'node:path';
import { existsSync } from 'node:fs';
import { describeTextEncoderConformance } from '@latentkit/testing';
import { CLIPTextEncoder } from './clip-text-encoder';
import { CLIPTokenizer } from './clip-tokenizer';
import { sharedPath } from './__fixtures__/shared-data';

const TINY_SD = sharedPath('reference/tiny-sd/onnx');
const MERGES = sharedPath('data/clip/bpe_simple_vocab_16e6.txt.gz');
const FIXTURES = path.resolve(__dirname, '../test-fixtures');

if (existsSync(TINY_SD) && existsSync(MERGES)) {
  describeTextEncoderConformance('CLIPTextEncoder (tiny-sd, int32)', () => CLIPTextEncoder.fromPretrained(TINY_SD), {
    hiddenSize: 32,
    maxLength: 77,
  });
  describeTextEncoderConformance(
    'CLIPTextEncoder (int64 fixture, clip skip 1, weighting, chunked long prompts)',
    async () =>
      CLIPTextEncoder.fromPretrained(path.join(FIXTURES, 'clip-int64'), {
        tokenizer: await CLIPTokenizer.fromMergesFile(MERGES),
        clipSkip: 1,
        weighting: true,
        longPrompts: 'chunk',
      }),
    { hiddenSize: 16, maxLength: 77 },
  );
} else {
  describe.skip('CLIPTextEncoder conformance', () => it.todo('needs the shared reference data'));
  console.warn(`Skipping the CLIPTextEncoder conformance suite: ${TINY_SD} or ${MERGES} is absent (set LATENTKIT_SHARED).`);
}
