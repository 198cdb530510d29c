import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError, ModelLoadError, StateError } from '@latentkit/core';
import { describeWithModelTiny, maxAbsDifference } from '@latentkit/testing';
import { CLIPTextEncoder } from './clip-text-encoder';
import { CLIPTokenizer } from './clip-tokenizer';
import { describeWithShared, sharedPath } from './__fixtures__/shared-data';

const FIXTURES = path.resolve(__dirname, '../test-fixtures');
const expected = JSON.parse(readFileSync(path.join(FIXTURES, 'clip-expected.json'), 'utf8')) as {
  input_ids: number[][];
  dims: number[];
  last_hidden_state: number[];
  pooler_output: number[];
  clip_skip_1: number[];
  attention_mask: number[][];
  masked_last_hidden_state: number[];
};

describe('CLIPTextEncoder on the CLIP-shaped fixtures (PyTorch reference, |Δ| ≤ 1e-5)', () => {
  it.each(['clip-int64', 'clip-int32'])('%s: reads the input dtype and outputs from the graph and matches PyTorch', async (name) => {
    const encoder = await CLIPTextEncoder.fromPretrained(path.join(FIXTURES, name));
    expect(encoder.inputIdsType).toBe(name === 'clip-int64' ? 'int64' : 'int32');
    expect(encoder.hiddenSize).toBe(16);
    expect(encoder.pooledSize).toBe(16);
    expect(encoder.maxLength).toBe(77);
    const { hiddenStates, pooled } = await encoder.encodeIds(expected.input_ids);
    expect(hiddenStates.dims).toEqual(expected.dims);
    expect(maxAbsDifference(hiddenStates.data, expected.last_hidden_state)).toBeLessThanOrEqual(1e-5);
    expect(maxAbsDifference(pooled!.data, expected.pooler_output)).toBeLessThanOrEqual(1e-5);
    await encoder.dispose();
  });

  it('clipSkip: 1 takes hidden_states.1 through the final layer norm, as diffusers does', async () => {
    const encoder = await CLIPTextEncoder.fromPretrained(path.join(FIXTURES, 'clip-int64'), { clipSkip: 1 });
    expect(encoder.statesOutput).toBe('hidden_states.1');
    const { hiddenStates } = await encoder.encodeIds(expected.input_ids);
    expect(maxAbsDifference(hiddenStates.data, expected.clip_skip_1)).toBeLessThanOrEqual(1e-5);
    await encoder.dispose();
  });

  it('feeds attention_mask to a graph that reads it: ones up to the first <|endoftext|>, or the masks given', async () => {
    const encoder = await CLIPTextEncoder.fromPretrained(path.join(FIXTURES, 'clip-masked'));
    const derived = await encoder.encodeIds(expected.input_ids);
    // The mask matters: padded positions differ from the unmasked graph's.
    expect(maxAbsDifference(expected.masked_last_hidden_state, expected.last_hidden_state)).toBeGreaterThan(1e-3);
    expect(maxAbsDifference(derived.hiddenStates.data, expected.masked_last_hidden_state)).toBeLessThanOrEqual(1e-5);
    const given = await encoder.encodeIds(expected.input_ids, { attentionMask: expected.attention_mask });
    expect(maxAbsDifference(given.hiddenStates.data, expected.masked_last_hidden_state)).toBeLessThanOrEqual(1e-5);
    await expect(encoder.encodeIds(expected.input_ids, { attentionMask: [[2], [1]] })).rejects.toThrow(/attentionMask\[0\] must be 77 zeros and ones/);
    await encoder.dispose();
  });

  it('refuses a clip skip the export cannot give, naming the valid range', async () => {
    await expect(CLIPTextEncoder.fromPretrained(path.join(FIXTURES, 'clip-int64'), { clipSkip: 2 })).rejects.toThrow(
      /clipSkip must be an integer from 0 to 1 for this 2-layer export, got 2/,
    );
  });

  it('dispose() releases the session; encoding afterwards is a StateError', async () => {
    const encoder = await CLIPTextEncoder.fromPretrained(path.join(FIXTURES, 'clip-int64'));
    await encoder.dispose();
    await expect(encoder.encodeIds(expected.input_ids)).rejects.toThrow(StateError);
    await encoder.dispose(); // twice is harmless
  });

  it('explains a missing model and bad rows', async () => {
    await expect(CLIPTextEncoder.fromPretrained(path.join(FIXTURES, 'nowhere'))).rejects.toThrow(ModelLoadError);
    const encoder = await CLIPTextEncoder.fromPretrained(path.join(FIXTURES, 'clip-int64'));
    await expect(encoder.encodeIds([[1, 2, 3]])).rejects.toThrow(/rows\[0\] must be 77 token ids/);
    await expect(encoder.encode(['a'])).rejects.toThrow(StateError); // no tokenizer beside the fixture
    await encoder.dispose();
  });

  it('refuses bad options before loading anything', async () => {
    await expect(CLIPTextEncoder.fromPretrained(FIXTURES, { longPrompts: 'wrap' as never })).rejects.toThrow(InvalidArgumentError);
    await expect(CLIPTextEncoder.fromPretrained(FIXTURES, { clipSkip: -1 })).rejects.toThrow(InvalidArgumentError);
  });
});

const TINY_SD = 'reference/tiny-sd/onnx';
describeWithShared('CLIPTextEncoder against diffusers', 'reference/tiny-sd/txt2img_pndm.json')(
  'CLIPTextEncoder against diffusers (tiny-sd prompt_embeds, |Δ| ≤ 1e-5)',
  () => {
    const reference = JSON.parse(readFileSync(sharedPath('reference/tiny-sd/txt2img_pndm.json'), 'utf8')) as {
      prompt: string;
      negative_prompt: string;
      prompt_embeds: number[];
    };
    let encoder: CLIPTextEncoder;
    beforeAll(async () => {
      encoder = await CLIPTextEncoder.fromPretrained(sharedPath(TINY_SD));
    });
    afterAll(() => encoder.dispose());

    it('reproduces prompt_embeds [uncond; cond] from the model folder (int32 input_ids)', async () => {
      expect(encoder.inputIdsType).toBe('int32');
      expect(encoder.hiddenSize).toBe(32);
      const { hiddenStates, pooled } = await encoder.encode([reference.negative_prompt, reference.prompt]);
      expect(hiddenStates.dims).toEqual([2, 77, 32]);
      expect(pooled!.dims).toEqual([2, 32]);
      expect(maxAbsDifference(hiddenStates.data, reference.prompt_embeds)).toBeLessThanOrEqual(1e-5);
    });

    it('loads from the text_encoder/ folder too, taking the sibling tokenizer/', async () => {
      const fromComponent = await CLIPTextEncoder.fromPretrained(sharedPath(`${TINY_SD}/text_encoder`));
      const { hiddenStates } = await fromComponent.encode([reference.negative_prompt, reference.prompt]);
      expect(maxAbsDifference(hiddenStates.data, reference.prompt_embeds)).toBeLessThanOrEqual(1e-5);
      await fromComponent.dispose();
    });

    it("longPrompts 'chunk': 75-token chunks framed by the special tokens, concatenated; short prompts get empty chunks", async () => {
      const chunked = await CLIPTextEncoder.fromPretrained(sharedPath(TINY_SD), { longPrompts: 'chunk' });
      const tokenizer = chunked.tokenizer!;
      const long = Array.from({ length: 100 }, (_, i) => ['red', 'blue', 'circle', 'square'][i % 4]).join(' ');
      const words = tokenizer.encodeWords(long);
      expect(words).toHaveLength(100);
      const { hiddenStates, pooled } = await chunked.encode([long, 'a red circle']);
      expect(hiddenStates.dims).toEqual([2, 154, 32]);
      const separately = await chunked.encodeIds([
        tokenizer.frame(words.slice(0, 75)).ids as number[],
        tokenizer.frame(words.slice(75)).ids as number[],
        tokenizer.encode('a red circle'),
        tokenizer.encode(''),
      ]);
      expect(maxAbsDifference(hiddenStates.data, separately.hiddenStates.data)).toBe(0);
      expect(pooled!.dims).toEqual([2, 32]);
      expect(Array.from(pooled!.data.subarray(0, 32))).toEqual(Array.from(separately.pooled!.data.subarray(0, 32)));
      // 'truncate' keeps 77 positions: the first chunk only.
      const truncated = await encoder.encode([long]);
      expect(truncated.hiddenStates.dims).toEqual([1, 77, 32]);
      expect(maxAbsDifference(truncated.hiddenStates.data, separately.hiddenStates.data.subarray(0, 77 * 32))).toBe(0);
      await chunked.dispose();
    });

    it('weighting: plain prompts are unchanged; (word:w) scales that token, then restores the mean', async () => {
      const weighted = await CLIPTextEncoder.fromPretrained(sharedPath(TINY_SD), { weighting: true });
      const plain = await weighted.encode([reference.prompt]);
      expect(maxAbsDifference(plain.hiddenStates.data, reference.prompt_embeds.slice(77 * 32))).toBeLessThanOrEqual(1e-5);

      const emphasised = await weighted.encode(['a (red:1.5) circle']);
      // Same ids as the plain prompt: the syntax is stripped before tokenizing.
      const base = (await encoder.encode(['a red circle'])).hiddenStates.data;
      const width = 32;
      let baseSum = 0;
      for (const v of base) baseSum += v;
      const scaled = Float32Array.from(base, (v, i) => (Math.floor(i / width) === 2 ? v * 1.5 : v));
      let scaledSum = 0;
      for (const v of scaled) scaledSum += v;
      const expectedWeighted = scaled.map((v) => v * (baseSum / scaledSum));
      expect(maxAbsDifference(emphasised.hiddenStates.data, expectedWeighted)).toBeLessThanOrEqual(1e-5);
      await weighted.dispose();
    });

    it('uses a tokenizer given in the options', async () => {
      const tokenizer = await CLIPTokenizer.fromPretrained(sharedPath(TINY_SD));
      const withTokenizer = await CLIPTextEncoder.fromPretrained(sharedPath(`${TINY_SD}/text_encoder`), { tokenizer });
      expect(withTokenizer.tokenizer).toBe(tokenizer);
      await withTokenizer.dispose();
    });
  },
);

// The project's own model (packages/model-tiny), once trained: a CLIP-tokenized English encoder of width 128.
describeWithModelTiny("CLIPTextEncoder on model-tiny's English text encoder", ['text_encoder', 'model.onnx'], (modelTiny) => {
  it('loads int32 input_ids → [batch, 77, 128] + pooler_output, with the CLIP tokenizer beside it', async () => {
    const encoder = await CLIPTextEncoder.fromPretrained(modelTiny);
    expect(encoder.inputIdsType).toBe('int32');
    expect(encoder.hiddenSize).toBe(128);
    expect(encoder.pooledSize).toBeGreaterThan(0);
    expect(encoder.tokenizer?.encode('a red circle').slice(0, 5)).toEqual([49406, 320, 736, 7117, 49407]);
    const { hiddenStates, pooled } = await encoder.encode(['', 'a red circle on a blue background']);
    expect(hiddenStates.dims).toEqual([2, 77, 128]);
    expect(pooled?.dims).toEqual([2, encoder.pooledSize]);
    await encoder.dispose();
  });

  it("refuses a tokenizer whose length differs from the graph's fixed 77", async () => {
    const short = await CLIPTokenizer.fromPretrained(modelTiny, { maxLength: 16 });
    await expect(CLIPTextEncoder.fromPretrained(modelTiny, { tokenizer: short })).rejects.toThrow(
      /the graph takes input_ids of length 77 but the tokenizer makes 16/,
    );
  });
});
