import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InvalidArgumentError, ModelLoadError, PluginRegistry, type ComponentSource } from '@latentkit/core';
import { assertFromPretrainedArguments, assertTokenizerFitsPositions, defineTokenizerPlugin, pluginRegistrar, requireOnnxModel, tokenizerFolderOf } from './text-encoder-plugins';

const source = (slot: string, componentPath = `/m/${slot}`): ComponentSource => ({ modelPath: '/m', componentPath, entry: { slot, library: 'diffusers', className: 'OnnxRuntimeModel' } });

describe('text-encoder plugin helpers', () => {
  it('tokenizerFolderOf: text_encoder → tokenizer, text_encoder_<name> → tokenizer_<name>', () => {
    expect(tokenizerFolderOf(source('text_encoder'))).toBe(path.join('/m', 'tokenizer'));
    expect(tokenizerFolderOf(source('text_encoder_multilingual'))).toBe(path.join('/m', 'tokenizer_multilingual'));
  });

  it('requireOnnxModel gives the model file, or says how to export one', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'latentkit-utils-'));
    try {
      await expect(requireOnnxModel(source('text_encoder', dir), 'export it')).rejects.toThrow(ModelLoadError);
      await expect(requireOnnxModel(source('text_encoder', dir), 'export it')).rejects.toThrow(/'text_encoder' has no model.onnx: export it/);
      fs.writeFileSync(path.join(dir, 'model.onnx'), '');
      await expect(requireOnnxModel(source('text_encoder', dir), 'export it')).resolves.toBe(path.join(dir, 'model.onnx'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('defineTokenizerPlugin supports its classes and declines others with the reason', async () => {
    const plugin = defineTokenizerPlugin({ name: 't', classes: ['BertTokenizer'], describe: 'BERT tokenizers', load: (folder, options: { n?: number }) => ({ folder, options }) as never });
    expect(plugin.specificationVersion).toBe('v1');
    expect(plugin.supports({ slot: 'tokenizer', library: 'transformers', className: 'BertTokenizer' })).toBe(true);
    expect(plugin.supports({ slot: 'tokenizer', library: 'transformers', className: 'CLIPTokenizer' })).toEqual({ reason: 'it loads BERT tokenizers, not ["transformers","CLIPTokenizer"]' });
    expect(await plugin.create(source('tokenizer'), { n: 1 })).toEqual({ folder: '/m/tokenizer', options: { n: 1 } });
  });

  it('refuses bad fromPretrained arguments and a tokenizer longer than the positions, with the fix', () => {
    expect(() => assertFromPretrainedArguments('', {}, 'a model folder')).toThrow(InvalidArgumentError);
    expect(() => assertFromPretrainedArguments('m', null, 'a model folder')).toThrow('options must be an options object, got null');
    expect(() => assertTokenizerFitsPositions('/m/text_encoder', { max_position_embeddings: 64 }, 77, 'use its own tokenizer')).toThrow(
      /the tokenizer pads to 77 tokens but the encoder has 64 positions: use its own tokenizer/,
    );
    expect(() => assertTokenizerFitsPositions('/m/text_encoder', {}, 77, 'x')).not.toThrow();
  });

  it('pluginRegistrar makes an idempotent register(registry) that returns the registry', () => {
    const plugin = defineTokenizerPlugin({ name: 't', classes: ['X'], describe: 'X', load: () => ({}) as never });
    const register = pluginRegistrar(plugin);
    const registry = new PluginRegistry();
    expect(register(register(registry))).toBe(registry);
    expect(registry.list('tokenizer')).toEqual([plugin]);
  });
});
