import * as os from 'node:os';
import * as path from 'node:path';
import { promises as fs } from 'node:fs';
import { IncompatibleComponentsError, assertCompatible, checkCompatibility, readModelFolder } from '@latentkit/core';
import { componentRole, componentsToCheck, declaredDimensions } from './declared-dimensions';
import type { OnnxModel } from './onnx-model';
import { writeOnnxModelFile } from './onnx-model-writer';
import { converterTextEncoder, converterUNet, converterVaeDecoder } from './__fixtures__/sd-graphs';

let scratch: string;
beforeAll(async () => {
  scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'latentkit-declared-'));
});
afterAll(async () => {
  await fs.rm(scratch, { recursive: true, force: true });
});

const INDEX = {
  _class_name: 'OnnxStableDiffusionPipeline',
  scheduler: ['diffusers', 'PNDMScheduler'],
  text_encoder: ['diffusers', 'OnnxRuntimeModel'],
  tokenizer: ['transformers', 'CLIPTokenizer'],
  unet: ['diffusers', 'OnnxRuntimeModel'],
  vae_decoder: ['diffusers', 'OnnxRuntimeModel'],
};

/** A diffusers-converter folder: model.onnx per part and no config.json, unless `configs` adds some. */
async function converterFolder(name: string, parts: { unet: OnnxModel; vae_decoder: OnnxModel; text_encoder: OnnxModel }, configs: Record<string, object> = {}, tokenizerConfig: object = { model_max_length: 77 }): Promise<string> {
  const folder = path.join(scratch, name);
  for (const [slot, model] of Object.entries(parts)) {
    await fs.mkdir(path.join(folder, slot), { recursive: true });
    writeOnnxModelFile(path.join(folder, slot, 'model.onnx'), model);
  }
  for (const [slot, config] of Object.entries(configs)) await fs.writeFile(path.join(folder, slot, 'config.json'), JSON.stringify(config));
  await fs.mkdir(path.join(folder, 'tokenizer'));
  await fs.writeFile(path.join(folder, 'tokenizer', 'tokenizer_config.json'), JSON.stringify(tokenizerConfig));
  await fs.mkdir(path.join(folder, 'scheduler'));
  await fs.writeFile(path.join(folder, 'scheduler', 'scheduler_config.json'), JSON.stringify({ _class_name: 'PNDMScheduler', num_train_timesteps: 1000 }));
  await fs.writeFile(path.join(folder, 'model_index.json'), JSON.stringify(INDEX));
  return folder;
}

const SD15 = { unet: converterUNet(4, 4, 768), vae_decoder: converterVaeDecoder(4, 3), text_encoder: converterTextEncoder(768, 77) };
const ALL = { unet: 'unet', vae: 'vae_decoder', scheduler: 'scheduler', textEncoders: ['text_encoder'], tokenizer: 'tokenizer' };

describe('declaredDimensions', () => {
  it('reads what a config-less part declares from its graph, and says so', async () => {
    const model = await readModelFolder(await converterFolder('sd15', SD15));
    expect(declaredDimensions(model.components.get('unet')!)).toEqual({
      values: { in_channels: 4, out_channels: 4, cross_attention_dim: 768, sample_size: null },
      sources: { in_channels: 'graph', out_channels: 'graph', cross_attention_dim: 'graph' },
      conflicts: [],
    });
    expect(declaredDimensions(model.components.get('vae_decoder')!).values).toEqual({ latent_channels: 4, vae_scale_factor: 8, scaling_factor: null });
    expect(declaredDimensions(model.components.get('text_encoder')!).values).toEqual({ hidden_size: 768, max_position_embeddings: 77 });
    expect(declaredDimensions(model.components.get('tokenizer')!)).toEqual({ values: { model_max_length: 77 }, sources: { model_max_length: 'config' }, conflicts: [] });
  });

  it('prefers the config, and with readGraph: always names both values where they disagree', async () => {
    const model = await readModelFolder(await converterFolder('conflict', SD15, { unet: { in_channels: 4, out_channels: 4, cross_attention_dim: 1024, sample_size: 64 } }));
    const unet = model.components.get('unet')!;
    expect(declaredDimensions(unet)).toMatchObject({ values: { cross_attention_dim: 1024 }, conflicts: [] });
    expect(declaredDimensions(unet, { readGraph: 'always' }).conflicts).toEqual([
      'unet/config.json says cross_attention_dim = 1024 but unet/model.onnx declares 768: the config does not belong to this model',
    ]);
  });

  it("takes transformers' 1e30 model_max_length as no limit", async () => {
    const model = await readModelFolder(await converterFolder('unlimited', SD15, {}, { model_max_length: 1e30 }));
    expect(declaredDimensions(model.components.get('tokenizer')!).values.model_max_length).toBeNull();
  });

  it('maps slots to roles', () => {
    expect(['unet', 'vae_decoder', 'text_encoder_2', 'tokenizer_multilingual', 'scheduler', 'safety_checker'].map(componentRole)).toEqual([
      'unet', 'vae', 'text-encoder', 'tokenizer', 'scheduler', 'other',
    ]);
  });
});

describe('componentsToCheck', () => {
  it('lets the compatibility check run fully on a diffusers-converter folder', async () => {
    const model = await readModelFolder(await converterFolder('fits', SD15));
    const { components, notes } = componentsToCheck(model, ALL);
    expect(components).toEqual({
      unet: { inChannels: 4, crossAttentionDim: 768, outChannels: 4 },
      vae: { latentChannels: 4, scaleFactor: 8 },
      scheduler: { className: 'PNDMScheduler', predictionType: 'epsilon' },
      textEncoders: [{ name: 'text_encoder', hiddenSize: 768, maxLength: 77 }],
      tokenizer: { name: 'tokenizer', maxLength: 77 },
    });
    expect(notes).toEqual([]);
    expect(checkCompatibility(components)).toEqual([]);
  });

  it('refuses a 1024-wide text encoder for a 768-wide UNet, naming both values', async () => {
    const model = await readModelFolder(await converterFolder('mismatch', { ...SD15, text_encoder: converterTextEncoder(1024, 77) }));
    const check = () => assertCompatible(componentsToCheck(model, ALL).components);
    expect(check).toThrow(IncompatibleComponentsError);
    expect(check).toThrow(/text encoder 'text_encoder' produces 1024-wide embeddings but the UNet's cross-attention expects 768/);
  });

  it('refuses a UNet whose channels do not fit the VAE, and a tokenizer longer than the position table', async () => {
    const model = await readModelFolder(
      await converterFolder('channels', { unet: converterUNet(4, 4, 768), vae_decoder: converterVaeDecoder(16, 3), text_encoder: converterTextEncoder(768, 64) }),
    );
    expect(checkCompatibility(componentsToCheck(model, ALL).components).map((p) => p.message.split(':')[0])).toEqual([
      'the tokenizer makes 77-token sequences but text encoder \'text_encoder\' has 64 positions',
      'the UNet takes 4 input channels but the VAE makes 16-channel latents',
      "the UNet predicts 4 channels but the VAE's latents have 16",
    ]);
  });
});
