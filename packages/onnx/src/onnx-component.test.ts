import * as os from 'node:os';
import * as path from 'node:path';
import { promises as fs } from 'node:fs';
import { InvalidArgumentError, ModelLoadError } from '@latentkit/core';
import { resolveOnnxComponent, withOnnxSession } from './onnx-component';
import { identityModel } from './__fixtures__/identity-model';

let model: string;

beforeAll(async () => {
  model = await fs.mkdtemp(path.join(os.tmpdir(), 'latentkit-component-'));
  await fs.mkdir(path.join(model, 'unet'));
  await fs.writeFile(path.join(model, 'unet', 'model.onnx'), identityModel(['batch', 4], { input: 'sample', output: 'out_sample' }));
  await fs.writeFile(path.join(model, 'unet', 'config.json'), JSON.stringify({ in_channels: 4 }));
  await fs.mkdir(path.join(model, 'vae_decoder'));
  await fs.writeFile(path.join(model, 'vae_decoder', 'config.json'), '{ "latent_channels": 4,, }');
});

afterAll(async () => {
  await fs.rm(model, { recursive: true, force: true });
});

describe('resolveOnnxComponent', () => {
  it('finds the slot inside a model folder, or takes the folder as the component itself', async () => {
    const fromModel = await resolveOnnxComponent(model, 'unet');
    expect(fromModel).toEqual({
      componentDir: path.join(model, 'unet'),
      parentDir: model,
      modelFile: path.join(model, 'unet', 'model.onnx'),
      configFile: path.join(model, 'unet', 'config.json'),
      config: { in_channels: 4 },
    });
    expect(await resolveOnnxComponent(path.join(model, 'unet'), 'unet')).toEqual(fromModel);
  });

  it('gives an empty config when there is no config.json, and names a broken one', async () => {
    const ownFolder = await resolveOnnxComponent(path.join(model, 'unet'), 'text_encoder');
    expect(ownFolder.config).toEqual({ in_channels: 4 });
    const noConfig = await resolveOnnxComponent(model, 'text_encoder');
    expect(noConfig.config).toEqual({});
    expect(noConfig.modelFile).toBe(path.join(model, 'model.onnx'));
    await expect(resolveOnnxComponent(path.join(model, 'vae_decoder'), 'vae_decoder')).rejects.toThrow(ModelLoadError);
    await expect(resolveOnnxComponent(path.join(model, 'vae_decoder'), 'vae_decoder')).rejects.toThrow(/vae_decoder[/\\]config\.json/);
  });
});

describe('bad arguments', () => {
  it('are refused by name before any file is touched', async () => {
    await expect(resolveOnnxComponent('', 'unet')).rejects.toThrow(InvalidArgumentError);
    await expect(resolveOnnxComponent(3 as never, 'unet')).rejects.toThrow(/folder must be the path of a model folder or of its unet\/ folder, got 3/);
    await expect(resolveOnnxComponent(model, '')).rejects.toThrow(/slot must be a model_index.json slot name such as 'unet'/);
    await expect(withOnnxSession(path.join(model, 'unet', 'model.onnx'), {}, 'build' as never)).rejects.toThrow(/build must be a function \(session\) => component, got "build"/);
  });
});

describe('withOnnxSession', () => {
  it('hands the built component back, and releases the session when building fails', async () => {
    const modelFile = path.join(model, 'unet', 'model.onnx');
    expect(await withOnnxSession(modelFile, { threads: 1 }, (session) => session.inputNames)).toEqual(['sample']);

    let released = false;
    const refusal = new ModelLoadError({ path: modelFile, reason: 'a test that refuses every graph' });
    await expect(
      withOnnxSession(modelFile, { threads: 1 }, async (session) => {
        const release = session.release.bind(session);
        session.release = async () => {
          released = true;
          await release();
        };
        throw refusal;
      }),
    ).rejects.toBe(refusal);
    expect(released).toBe(true);
  });
});
