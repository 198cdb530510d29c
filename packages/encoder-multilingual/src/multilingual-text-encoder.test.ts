import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ComponentMismatchError, StateError } from '@latentkit/core';
import { describeWithModelTiny, maxAbsDifference } from '@latentkit/testing';
import { MultilingualTextEncoder } from './multilingual-text-encoder';
import { MultilingualTokenizer } from './multilingual-tokenizer';

const FIXTURES = path.resolve(__dirname, '../test-fixtures');
const expected = JSON.parse(readFileSync(path.join(FIXTURES, 'multilingual-expected.json'), 'utf8')) as {
  dims: number[];
  last_hidden_state: number[];
  projected: number[];
};
// The prompts whose tokens the generator wrote out: [CLS] un chat rouge [SEP] and [CLS] 红 色 的 猫 [SEP].
const PROMPTS = ['un chat rouge', '红色的猫'];

describe('MultilingualTextEncoder (PyTorch reference, |Δ| ≤ 1e-5)', () => {
  it('loads the model-tiny layout (text_encoder_multilingual/ + tokenizer_multilingual/) and matches PyTorch', async () => {
    const encoder = await MultilingualTextEncoder.fromPretrained(path.join(FIXTURES, 'tiny-multilingual'));
    expect(encoder.hiddenSize).toBe(32);
    expect(encoder.maxLength).toBe(77);
    expect(encoder.statesOutput).toBe('last_hidden_state');
    const { hiddenStates, pooled } = await encoder.encode(PROMPTS);
    expect(hiddenStates.dims).toEqual(expected.dims);
    expect(pooled).toBeUndefined();
    expect(maxAbsDifference(hiddenStates.data, expected.last_hidden_state)).toBeLessThanOrEqual(1e-5);
    await encoder.dispose();
  });

  it('applies projection.safetensors beside the model and declares the projected width', async () => {
    const encoder = await MultilingualTextEncoder.fromPretrained(path.join(FIXTURES, 'projected'));
    expect(encoder.hiddenSize).toBe(48);
    expect(encoder.projection?.inputSize).toBe(32);
    const { hiddenStates } = await encoder.encode(PROMPTS);
    expect(hiddenStates.dims).toEqual([2, 77, 48]);
    expect(maxAbsDifference(hiddenStates.data, expected.projected)).toBeLessThanOrEqual(1e-5);
    await encoder.dispose();
    const unprojected = await MultilingualTextEncoder.fromPretrained(path.join(FIXTURES, 'projected'), { projection: false });
    expect(unprojected.hiddenSize).toBe(32);
    await unprojected.dispose();
  });

  it('refuses an M-CLIP-style encoder (one vector per prompt) and says why', async () => {
    const load = MultilingualTextEncoder.fromPretrained(path.join(FIXTURES, 'pooled-only'));
    await expect(load).rejects.toThrow(ComponentMismatchError);
    await expect(MultilingualTextEncoder.fromPretrained(path.join(FIXTURES, 'pooled-only'))).rejects.toThrow(
      /outputs text_embeds \[\?, 48\]: one vector per prompt \(M-CLIP style\), not one per token.*cross-attention attends over a sequence of per-token states/s,
    );
  });

  it('dispose() frees the session; encode afterwards is a StateError', async () => {
    const encoder = await MultilingualTextEncoder.fromPretrained(path.join(FIXTURES, 'tiny-multilingual'));
    await encoder.dispose();
    await expect(encoder.encode(['a'])).rejects.toThrow(StateError);
  });
});

describeWithModelTiny("MultilingualTextEncoder on model-tiny's trained encoder", ['text_encoder_multilingual', 'model.onnx'], (modelTiny) => {
  it('loads it and gives [batch, 77, 128]', async () => {
    const encoder = await MultilingualTextEncoder.fromPretrained(modelTiny);
    expect(encoder.hiddenSize).toBe(128);
    const { hiddenStates } = await encoder.encode(['un cercle rouge', '']);
    expect(hiddenStates.dims).toEqual([2, 77, 128]);
    await encoder.dispose();
  });

  it('refuses a tokenizer whose length differs from the graph\'s fixed 77', async () => {
    const short = await MultilingualTokenizer.fromPretrained(path.join(modelTiny, 'tokenizer_multilingual'), { maxLength: 16 });
    await expect(MultilingualTextEncoder.fromPretrained(modelTiny, { tokenizer: short })).rejects.toThrow(
      /the graph takes input_ids of length 77 but the tokenizer makes 16/,
    );
  });
});
