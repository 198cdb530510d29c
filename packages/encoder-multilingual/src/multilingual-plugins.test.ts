import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PluginRegistry, readModelFolder } from '@latentkit/core';
import { register as registerClip } from '@latentkit/encoder-clip';
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

  it('resolves beside the CLIP plugins: CLIP for text_encoder, multilingual for text_encoder_multilingual', async () => {
    const registry = register(registerClip(new PluginRegistry()));
    const entry = (slot: string) => ({ slot, library: 'diffusers', className: 'OnnxRuntimeModel' });
    expect(registry.resolve('text-encoder', entry('text_encoder')).name).toBe('clip-text-encoder');
    expect(registry.resolve('text-encoder', entry('text_encoder_multilingual')).name).toBe('multilingual-text-encoder');
    expect(registry.resolve('tokenizer', { slot: 'tokenizer_multilingual', library: 'tokenizers', className: 'PreTrainedTokenizerFast' }).name).toBe(
      'multilingual-tokenizer',
    );
  });

  it('takes an ONNX text_encoder slot whose config.json is not CLIP, without hints, beside the CLIP plugin', async () => {
    // AltDiffusion / Taiyi converted to ONNX: ["diffusers", "OnnxRuntimeModel"] in the default slots.
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'latentkit-bert-onnx-'));
    try {
      fs.writeFileSync(
        path.join(folder, 'model_index.json'),
        JSON.stringify({ _class_name: 'OnnxStableDiffusionPipeline', text_encoder: ['diffusers', 'OnnxRuntimeModel'], tokenizer: ['tokenizers', 'PreTrainedTokenizerFast'] }),
      );
      fs.symlinkSync(path.join(TINY, 'text_encoder_multilingual'), path.join(folder, 'text_encoder'));
      fs.symlinkSync(path.join(TINY, 'tokenizer_multilingual'), path.join(folder, 'tokenizer'));
      const registry = register(registerClip(new PluginRegistry()));
      const source = (await readModelFolder(folder)).components.get('text_encoder')!;
      expect(source.config?.model_type).toBe('bert');
      expect(registry.resolve('text-encoder', source.entry).name).toBe('clip-text-encoder'); // the class alone says nothing more
      expect(registry.resolve('text-encoder', source.entry, { source }).name).toBe('multilingual-text-encoder');
      const encoder = await registry.create<MultilingualTextEncoder>('text-encoder', source);
      expect(encoder).toBeInstanceOf(MultilingualTextEncoder);
      expect(encoder.hiddenSize).toBe(32);
      await encoder.dispose();
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
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
