import { mkdtempSync, mkdirSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ModelLoadError } from './errors';
import { configField, isPositiveInteger, readJsonFile, readModelFolder, readModelIndex } from './model-folder';

let root: string;

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'latentkit-folder-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function write(relative: string, content: string): string {
  const file = path.join(root, relative);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
  return file;
}

async function loadError(promise: Promise<unknown>): Promise<ModelLoadError> {
  try {
    await promise;
  } catch (error) {
    if (ModelLoadError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a ModelLoadError');
}

describe('model folders', () => {
  it('reads the index, each component config and the files with their sizes', async () => {
    write('model_index.json', JSON.stringify({ _class_name: 'OnnxStableDiffusionPipeline', unet: ['diffusers', 'OnnxRuntimeModel'], scheduler: ['diffusers', 'PNDMScheduler'], safety_checker: [null, null] }));
    write('unet/config.json', JSON.stringify({ cross_attention_dim: 32 }));
    write('unet/model.onnx', 'x'.repeat(10));
    write('scheduler/scheduler_config.json', JSON.stringify({ _class_name: 'PNDMScheduler' }));
    const folder = await readModelFolder(root);
    expect(folder.index.className).toBe('OnnxStableDiffusionPipeline');
    expect([...folder.components.keys()]).toEqual(['unet', 'scheduler']);
    const unet = folder.components.get('unet')!;
    expect(unet.config).toEqual({ cross_attention_dim: 32 });
    expect(unet.files).toEqual([{ name: 'config.json', bytes: 26 }, { name: 'model.onnx', bytes: 10 }]);
    expect(folder.components.get('scheduler')!.configFile).toBe(path.join(root, 'scheduler', 'scheduler_config.json'));
  });

  it('names a missing folder and a missing index', async () => {
    expect((await loadError(readModelIndex(path.join(root, 'nope')))).message).toBe(
      `Cannot load ${path.join(root, 'nope')}: the model folder does not exist`,
    );
    expect((await loadError(readModelIndex(root))).message).toBe(
      `Cannot load ${path.join(root, 'model_index.json')}: the file does not exist`,
    );
  });

  it('names the file and position of malformed JSON', async () => {
    const file = write('model_index.json', '{\n  "unet": ["diffusers", "OnnxRuntimeModel"],\n}');
    const error = await loadError(readModelIndex(root));
    expect(error.path).toBe(file);
    expect(error.message).toMatch(/is not valid JSON at line 3, column 1/);
  });

  it('names the JSON path of a malformed entry', async () => {
    write('model_index.json', JSON.stringify({ unet: ['diffusers'] }));
    expect((await loadError(readModelIndex(root))).reason).toBe('$.unet must be [library, class] (two strings or nulls), found ["diffusers"]');
    write('model_index.json', '[1, 2]');
    expect((await loadError(readModelIndex(root))).reason).toBe('$ must be a JSON object, found an array');
  });

  it('names a component folder the index lists but the disk lacks', async () => {
    write('model_index.json', JSON.stringify({ vae_decoder: ['diffusers', 'OnnxRuntimeModel'] }));
    const error = await loadError(readModelFolder(root));
    expect(error.path).toBe(path.join(root, 'vae_decoder'));
    expect(error.reason).toBe(`model_index.json lists 'vae_decoder' as ["diffusers", "OnnxRuntimeModel"] but the folder is missing`);
  });

  it('reports unreadable files', async () => {
    if (process.getuid?.() === 0) {
      // root reads everything; a directory in place of the file exercises the same path.
      mkdirSync(path.join(root, 'model_index.json'));
      expect((await loadError(readJsonFile(path.join(root, 'model_index.json')))).reason).toBe('it is a directory, not a file');
      return;
    }
    const file = write('model_index.json', '{}');
    chmodSync(file, 0o000);
    expect((await loadError(readJsonFile(file))).reason).toBe('permission denied');
  });

  it('checks typed config fields with the JSON path', () => {
    const check = { file: '/m/unet/config.json', expected: 'a positive integer', test: isPositiveInteger };
    expect(configField({ cross_attention_dim: 768 }, 'cross_attention_dim', check)).toBe(768);
    expect(() => configField({ cross_attention_dim: '768' }, 'cross_attention_dim', check)).toThrow(
      'Cannot load /m/unet/config.json: $.cross_attention_dim must be a positive integer, found "768"',
    );
    expect(() => configField({}, 'in_channels', check)).toThrow('$.in_channels must be a positive integer, found nothing');
  });
});

describe("optimum's exports of a torch pipeline", () => {
  it('reads torch classes whose folders hold model.onnx as ONNX parts, and vae as vae_decoder + vae_encoder', async () => {
    write('model_index.json', JSON.stringify({
      _class_name: 'StableDiffusionPipeline',
      unet: ['diffusers', 'UNet2DConditionModel'],
      vae: ['diffusers', 'AutoencoderKL'],
      text_encoder: ['transformers', 'CLIPTextModel'],
      tokenizer: ['transformers', 'CLIPTokenizer'],
      scheduler: ['diffusers', 'PNDMScheduler'],
      safety_checker: [null, null],
    }));
    for (const part of ['unet', 'vae_decoder', 'vae_encoder', 'text_encoder']) write(`${part}/model.onnx`, 'onnx');
    write('unet/config.json', JSON.stringify({ in_channels: 4 }));
    write('tokenizer/vocab.json', '{}');
    write('scheduler/scheduler_config.json', '{}');
    const folder = await readModelFolder(root);
    expect([...folder.components.keys()].sort()).toEqual(['scheduler', 'text_encoder', 'tokenizer', 'unet', 'vae_decoder', 'vae_encoder']);
    for (const slot of ['unet', 'vae_decoder', 'vae_encoder', 'text_encoder']) {
      expect(folder.components.get(slot)!.entry).toEqual({ slot, library: 'diffusers', className: 'OnnxRuntimeModel' });
    }
    expect(folder.components.get('tokenizer')!.entry.className).toBe('CLIPTokenizer');
    expect(folder.components.get('unet')!.config).toEqual({ in_channels: 4 });
  });

  it('keeps a torch vae/ folder as it is', async () => {
    write('model_index.json', JSON.stringify({ vae: ['diffusers', 'AutoencoderKL'] }));
    write('vae/config.json', '{}');
    const folder = await readModelFolder(root);
    expect(folder.components.get('vae')!.entry).toEqual({ slot: 'vae', library: 'diffusers', className: 'AutoencoderKL' });
  });
});
