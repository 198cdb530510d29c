import * as path from 'node:path';
import { ModelLoadError, PluginRegistry, readModelFolder, type ComponentEntry, type ComponentSource } from '@latentkit/core';
import { describePluginConformance } from '@latentkit/testing';
import { CLIPTextEncoder } from './clip-text-encoder';
import { CLIPTokenizer } from './clip-tokenizer';
import { clipTextEncoderPlugin, clipTokenizerPlugin, register, textEncoderPlugin } from './clip-plugins';
import { sharedPath } from './__fixtures__/shared-data';
import { existsSync } from 'node:fs';

const TINY_SD = sharedPath('reference/tiny-sd/onnx');
const hasShared = existsSync(TINY_SD);
if (!hasShared) console.warn(`Skipping the plugin create() checks: ${TINY_SD} is absent (set LATENTKIT_SHARED).`);

const FIXTURES = path.resolve(__dirname, '../test-fixtures');
/** A component source for a folder of test-fixtures/, as the registry would pass it. */
const fixtureSource = (folder: string, entry: ComponentEntry, config?: Record<string, unknown>): ComponentSource => ({
  modelPath: FIXTURES,
  componentPath: path.join(FIXTURES, folder),
  entry,
  ...(config ? { config } : {}),
});

const textEncoderSource = async () => (await readModelFolder(TINY_SD)).components.get('text_encoder')!;
const tokenizerSource = async () => (await readModelFolder(TINY_SD)).components.get('tokenizer')!;

describePluginConformance(clipTextEncoderPlugin, {
  register,
  supportedEntry: { slot: 'text_encoder', library: 'diffusers', className: 'OnnxRuntimeModel' },
  unsupportedEntry: { slot: 'unet', library: 'diffusers', className: 'OnnxRuntimeModel' },
  ...(hasShared ? { source: textEncoderSource } : {}),
});

describePluginConformance(clipTokenizerPlugin, {
  register,
  supportedEntry: { slot: 'tokenizer', library: 'transformers', className: 'CLIPTokenizer' },
  unsupportedEntry: { slot: 'tokenizer_multilingual', library: 'tokenizers', className: 'PreTrainedTokenizerFast' },
  ...(hasShared ? { source: tokenizerSource } : {}),
});

describe('CLIP plugins', () => {
  it('textEncoderPlugin is the CLIP text-encoder plugin', () => {
    expect(textEncoderPlugin).toBe(clipTextEncoderPlugin);
  });

  it('supports ["transformers", "CLIPTextModel"] in text_encoder* slots, names no other plugin\'s slot, and declines other slots with a reason', () => {
    expect(clipTextEncoderPlugin.supports({ slot: 'text_encoder', library: 'transformers', className: 'CLIPTextModel' })).toBe(true);
    expect(clipTextEncoderPlugin.supports({ slot: 'text_encoder_2', library: 'transformers', className: 'CLIPTextModelWithProjection' })).toBe(true);
    // Another plugin may claim the same slot: the registry's priority decides, not this plugin.
    expect(clipTextEncoderPlugin.priority ?? 0).toBe(0);
    expect(clipTextEncoderPlugin.supports({ slot: 'unet', library: 'diffusers', className: 'OnnxRuntimeModel' })).toEqual({
      reason: expect.stringMatching(/not slot 'unet'/),
    });
  });

  it('register() puts both plugins in the registry it is given', () => {
    const registry = register(new PluginRegistry());
    expect(registry.get('text-encoder', 'clip-text-encoder')).toBe(clipTextEncoderPlugin);
    expect(registry.get('tokenizer', 'clip-tokenizer')).toBe(clipTokenizerPlugin);
  });

  it('create() explains a CLIPTextModel folder without model.onnx', async () => {
    const source = fixtureSource('missing', { slot: 'text_encoder', library: 'transformers', className: 'CLIPTextModel' });
    await expect(clipTextEncoderPlugin.create(source)).rejects.toThrow(ModelLoadError);
    await expect(clipTextEncoderPlugin.create(source)).rejects.toThrow(/has no model.onnx: export the text encoder to ONNX/);
  });

  it('create() sends a non-CLIP config to the multilingual plugin', async () => {
    const source = fixtureSource('clip-int64', { slot: 'text_encoder', library: 'diffusers', className: 'OnnxRuntimeModel' }, { model_type: 'xlm-roberta' });
    await expect(clipTextEncoderPlugin.create(source)).rejects.toThrow(/model_type 'xlm-roberta', not a CLIP text model: register @latentkit\/encoder-multilingual/);
  });

  it('supports() declines an ONNX export whose config names another model_type, and says so', () => {
    const entry = { slot: 'text_encoder', library: 'diffusers', className: 'OnnxRuntimeModel' };
    const source = (modelType: unknown) => ({ modelPath: '/m', componentPath: '/m/text_encoder', entry, config: { model_type: modelType } });
    expect(clipTextEncoderPlugin.supports(entry)).toBe(true);
    expect(clipTextEncoderPlugin.supports(entry, source('clip_text_model'))).toBe(true);
    expect(clipTextEncoderPlugin.supports(entry, source(undefined))).toBe(true);
    expect(clipTextEncoderPlugin.supports(entry, source('xlm-roberta'))).toEqual({ reason: "its config.json says model_type 'xlm-roberta', not a CLIP text model" });
  });

  (hasShared ? it : it.skip)('create() loads the tiny-sd text encoder and tokenizer through the registry, options passed on', async () => {
    const registry = register(new PluginRegistry());
    const encoder = await registry.create<CLIPTextEncoder>('text-encoder', await textEncoderSource(), { longPrompts: 'chunk' });
    expect(encoder).toBeInstanceOf(CLIPTextEncoder);
    expect(encoder.hiddenSize).toBe(32);
    expect(encoder.tokenizer).toBeInstanceOf(CLIPTokenizer);
    await encoder.dispose();
    const tokenizer = await registry.create<CLIPTokenizer>('tokenizer', await tokenizerSource());
    expect(tokenizer.encode('a red circle').slice(0, 5)).toEqual([49406, 320, 736, 7117, 49407]);
  });
});
