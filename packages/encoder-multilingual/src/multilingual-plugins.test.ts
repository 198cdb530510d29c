import * as path from 'node:path';
import { PluginRegistry, readModelFolder } from '@latentkit/core';
import { describePluginConformance, describeTextEncoderConformance } from '@latentkit/testing';
import { MultilingualTextEncoder } from './multilingual-text-encoder';
import { MultilingualTokenizer } from './multilingual-tokenizer';
import { multilingualTextEncoderPlugin, multilingualTokenizerPlugin, register, textEncoderPlugin } from './multilingual-plugins';

const FIXTURES = path.resolve(__dirname, '../test-fixtures');
const TINY = path.join(FIXTURES, 'tiny-multilingual');
const component = async (slot: string) => (await readModelFolder(TINY)).components.get(slot)!;

describePluginConformance(multilingualTextEncoderPlugin, {
  register,
  supportedEntry: { slot: 'text_encoder_multilingual', library: 'diffusers', className: 'OnnxRuntimeModel' },
  unsupportedEntry: { slot: 'text_encoder', library: 'transformers', className: 'CLIPTextModel' },
  source: () => component('text_encoder_multilingual'),
});

describePluginConformance(multilingualTokenizerPlugin, {
  register,
  supportedEntry: { slot: 'tokenizer_multilingual', library: 'tokenizers', className: 'PreTrainedTokenizerFast' },
  unsupportedEntry: { slot: 'tokenizer', library: 'transformers', className: 'CLIPTokenizer' },
  source: () => component('tokenizer_multilingual'),
});

describeTextEncoderConformance('MultilingualTextEncoder (WordPiece fixture, int64)', () => MultilingualTextEncoder.fromPretrained(TINY), {
  hiddenSize: 32,
  maxLength: 77,
});
describeTextEncoderConformance('MultilingualTextEncoder (with projection.safetensors)', () => MultilingualTextEncoder.fromPretrained(path.join(FIXTURES, 'projected')), {
  hiddenSize: 48,
  maxLength: 77,
});

describe('multilingual plugins', () => {
  it('textEncoderPlugin is the multilingual text-encoder plugin', () => {
    expect(textEncoderPlugin).toBe(multilingualTextEncoderPlugin);
  });

  it('supports AltDiffusion / Taiyi classes and declines M-CLIP with the reason', () => {
    expect(multilingualTextEncoderPlugin.supports({ slot: 'text_encoder', library: 'transformers', className: 'RobertaSeriesModelWithTransformation' })).toBe(true);
    expect(multilingualTextEncoderPlugin.supports({ slot: 'text_encoder', library: 'transformers', className: 'BertModel' })).toBe(true);
    expect(multilingualTextEncoderPlugin.supports({ slot: 'text_encoder', library: 'multilingual_clip', className: 'MultilingualCLIP' })).toEqual({
      reason: expect.stringMatching(/one vector per prompt.*per-token states/),
    });
  });

  it('claims text_encoder_multilingual, non-CLIP classes and ONNX exports whose config.json is not CLIP, above CLIP\'s priority', () => {
    const entry = (slot: string) => ({ slot, library: 'diffusers', className: 'OnnxRuntimeModel' });
    expect(multilingualTextEncoderPlugin.priority).toBeGreaterThan(0);
    expect(multilingualTextEncoderPlugin.supports(entry('text_encoder_multilingual'))).toBe(true);
    expect(multilingualTextEncoderPlugin.supports(entry('text_encoder'))).toEqual({ reason: expect.stringMatching(/non-CLIP/) });
    const source = (modelType: string) => ({ modelPath: '/m', componentPath: '/m/text_encoder', entry: entry('text_encoder'), config: { model_type: modelType } });
    expect(multilingualTextEncoderPlugin.supports(entry('text_encoder'), source('bert'))).toBe(true);
    expect(multilingualTextEncoderPlugin.supports(entry('text_encoder'), source('clip_text_model'))).toEqual({ reason: expect.any(String) });
  });

  it('create() loads the encoder with the sibling tokenizer_multilingual/, and the tokenizer', async () => {
    const registry = register(new PluginRegistry());
    const encoder = await registry.create<MultilingualTextEncoder>('text-encoder', await component('text_encoder_multilingual'));
    expect(encoder.hiddenSize).toBe(32);
    expect(encoder.tokenizer).toBeInstanceOf(MultilingualTokenizer);
    await encoder.dispose();
    const tokenizer = await registry.create<MultilingualTokenizer>('tokenizer', await component('tokenizer_multilingual'));
    expect(tokenizer.encode('un chat rouge', { padding: false })).toEqual([2, 31, 44, 40, 3]);
  });
});
