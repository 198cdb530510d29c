import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AbortError, IncompatibleComponentsError, InvalidArgumentError, ModelLoadError, PluginRegistry, StateError, type Scheduler, type TextEncoder } from '@latentkit/core';
import { DDIMScheduler } from '@latentkit/schedulers';
import { referencePath } from '@latentkit/testing';
import { onnxVaePlugin, type OnnxVae, type OnnxVaeOptions } from '@latentkit/vae';
import { StableDiffusionPipeline, writeUnconditionalEmbedding } from './index';

const tinySd = referencePath('tiny-sd', 'onnx');
/** The onnxruntime-node that @latentkit/onnx opens sessions with (the pipeline does not depend on it directly). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ort = require(require.resolve('onnxruntime-node', { paths: [path.dirname(require.resolve('@latentkit/onnx'))] })) as {
  InferenceSession: { create: (...args: unknown[]) => Promise<unknown> };
};
if (!tinySd) console.warn('Skipping fromPretrained tests: ../shared/reference/tiny-sd is absent (set LATENTKIT_SHARED)');

function ddim(): Scheduler {
  return new DDIMScheduler(JSON.parse(fs.readFileSync(path.join(tinySd!, 'scheduler/scheduler_config.json'), 'utf8')), { onUnknownKey: () => {} });
}

(tinySd ? describe : describe.skip)('StableDiffusionPipeline.fromPretrained', () => {
  it('assembles every slot through the given registry, with the same session options', async () => {
    const registry = new PluginRegistry();
    const pipeline = await StableDiffusionPipeline.fromPretrained(tinySd!, { registry, scheduler: ddim(), sessionOptions: { threads: 1, graphOptimizationLevel: 'basic' } });
    try {
      expect(registry.list('unet').map((p) => p.name)).toContain('onnx-unet');
      expect(registry.list('vae').map((p) => p.name)).toContain('onnx-vae');
      expect(pipeline.textEncoder?.hiddenSize).toBe(32);
      expect(pipeline.unet.crossAttentionDim).toBe(32);
      expect(pipeline.vae.scaleFactor).toBe(2);
      expect(pipeline.defaultImageSize).toBe(32);
    } finally {
      await pipeline.dispose();
    }
  });

  it('names the text encoders a model ships when asked for another', async () => {
    const load = StableDiffusionPipeline.fromPretrained(tinySd!, { scheduler: ddim(), textEncoder: 'multilingual' });
    await expect(load).rejects.toThrow(InvalidArgumentError);
    await expect(StableDiffusionPipeline.fromPretrained(tinySd!, { scheduler: ddim(), textEncoder: 'multilingual' })).rejects.toThrow(
      /textEncoder must be a text encoder this model ships \('default'\), got "multilingual": model_index.json of .* has no 'text_encoder_multilingual' slot/,
    );
  });

  it('runs the compatibility check on the chosen text encoder before anything is computed', async () => {
    const wide: TextEncoder = {
      specificationVersion: 'v1',
      name: 'wide',
      hiddenSize: 64,
      maxLength: 77,
      encode: () => Promise.reject(new Error('a mismatched encoder must never be called')),
    };
    const load = StableDiffusionPipeline.fromPretrained(tinySd!, { scheduler: ddim(), components: { textEncoder: wide } });
    await expect(load).rejects.toThrow(IncompatibleComponentsError);
    await expect(StableDiffusionPipeline.fromPretrained(tinySd!, { scheduler: ddim(), components: { textEncoder: wide } })).rejects.toThrow(
      /text encoder 'wide' produces 64-wide embeddings but the UNet's cross-attention expects 32/,
    );
  });

  it('disposes the components that loaded when another one fails', async () => {
    const registry = new PluginRegistry();
    let vae: OnnxVae | undefined;
    registry.register({ ...onnxVaePlugin, name: 'recording-vae', priority: 10, create: async (source, options) => (vae = await onnxVaePlugin.create(source, options as OnnxVaeOptions)) });
    registry.register({
      name: 'broken-unet',
      specificationVersion: 'v1',
      kind: 'unet',
      priority: 10,
      supports: () => true,
      create: () => Promise.reject(new ModelLoadError({ path: 'unet/model.onnx', reason: 'a test plugin that always fails' })),
    });
    await expect(StableDiffusionPipeline.fromPretrained(tinySd!, { registry, scheduler: ddim() })).rejects.toThrow(/a test plugin that always fails/);
    expect(vae?.disposed).toBe(true);
  });

  it('stops when the signal fires: before reading the folder, or while sessions open (disposing them when they finish)', async () => {
    await expect(StableDiffusionPipeline.fromPretrained(tinySd!, { scheduler: ddim(), signal: AbortSignal.abort() })).rejects.toThrow(AbortError);
    await expect(StableDiffusionPipeline.fromPretrained(tinySd!, { scheduler: ddim(), signal: 'stop' as never })).rejects.toThrow(
      /signal must be an AbortSignal, got "stop"/,
    );

    const registry = new PluginRegistry();
    const controller = new AbortController();
    let vae: OnnxVae | undefined;
    registry.register({
      ...onnxVaePlugin,
      name: 'aborting-vae',
      priority: 10,
      create: async (source, options) => {
        controller.abort(); // Ctrl-C while this session opens
        return (vae = await onnxVaePlugin.create(source, options as OnnxVaeOptions));
      },
    });
    await expect(StableDiffusionPipeline.fromPretrained(tinySd!, { registry, scheduler: ddim(), signal: controller.signal })).rejects.toThrow(
      /The operation was aborted/,
    );
    expect(vae).toBeUndefined(); // rejected at once, before the session finished opening
    for (let waited = 0; !vae?.disposed && waited < 10_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(vae?.disposed).toBe(true);
  });

  it('refuses a scheduler that expects another prediction type than the UNet was trained for', async () => {
    const config = JSON.parse(fs.readFileSync(path.join(tinySd!, 'scheduler/scheduler_config.json'), 'utf8'));
    const vPrediction = new DDIMScheduler({ ...config, prediction_type: 'v_prediction' }, { onUnknownKey: () => {} });
    await expect(StableDiffusionPipeline.fromPretrained(tinySd!, { scheduler: vPrediction })).rejects.toThrow(
      /scheduler DDIMScheduler expects the model to predict 'v_prediction' but the UNet predicts 'epsilon'/,
    );
  });

  it('checks what the configs alone decide before opening any session', async () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'latentkit-mismatch-'));
    try {
      for (const entry of ['vae_decoder', 'vae_encoder', 'scheduler', 'text_encoder', 'tokenizer']) fs.symlinkSync(path.join(tinySd!, entry), path.join(folder, entry));
      fs.copyFileSync(path.join(tinySd!, 'model_index.json'), path.join(folder, 'model_index.json'));
      fs.mkdirSync(path.join(folder, 'unet'));
      const config = JSON.parse(fs.readFileSync(path.join(tinySd!, 'unet/config.json'), 'utf8'));
      fs.writeFileSync(path.join(folder, 'unet/config.json'), JSON.stringify({ ...config, in_channels: 5 }));
      // No model.onnx at all: the configs alone must stop the load.
      await expect(StableDiffusionPipeline.fromPretrained(folder, { scheduler: ddim() })).rejects.toThrow(IncompatibleComponentsError);
      await expect(StableDiffusionPipeline.fromPretrained(folder, { scheduler: ddim() })).rejects.toThrow(/the UNet takes 5 input channels but the VAE makes 4-channel latents/);
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });

  /** A diffusers-converter copy of tiny-sd: each part's files linked, without its config.json. */
  function converterLayout(replace: Record<string, string> = {}): string {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'latentkit-converter-'));
    for (const part of ['unet', 'vae_decoder', 'vae_encoder', 'scheduler', 'text_encoder', 'tokenizer']) {
      fs.mkdirSync(path.join(folder, part));
      for (const file of fs.readdirSync(path.join(tinySd!, part))) {
        if (file === 'config.json') continue;
        fs.symlinkSync(replace[`${part}/${file}`] ?? path.join(tinySd!, part, file), path.join(folder, part, file));
      }
    }
    fs.copyFileSync(path.join(tinySd!, 'model_index.json'), path.join(folder, 'model_index.json'));
    return folder;
  }

  it('loads a diffusers-converter folder (no config.json in its ONNX parts) from what its graphs declare, and generates the same image', async () => {
    const folder = converterLayout();
    const options = { prompt: 'a red circle', numInferenceSteps: 2, width: 32, height: 32, seed: 7 } as const;
    try {
      const converter = await StableDiffusionPipeline.fromPretrained(folder, { scheduler: ddim() });
      const withConfigs = await StableDiffusionPipeline.fromPretrained(tinySd!, { scheduler: ddim() });
      try {
        expect([converter.unet.inChannels, converter.unet.outChannels, converter.unet.crossAttentionDim]).toEqual([4, 4, 32]);
        expect([converter.vae.latentChannels, converter.vae.scaleFactor]).toEqual([4, 2]);
        expect(converter.textEncoder?.hiddenSize).toBe(32);
        const [a, b] = [await converter.textToImage(options), await withConfigs.textToImage(options)];
        // Exact: the same weights, inputs and session options give the same floats.
        expect(a.images).toEqual(b.images);
      } finally {
        await converter.dispose();
        await withConfigs.dispose();
      }
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });

  it('refuses a converter folder whose text encoder is wider than the UNet expects, naming both values, before any session opens', async () => {
    const wider = path.resolve(__dirname, '../../model-tiny/model/text_encoder/model.onnx'); // 128 wide; tiny-sd's UNet takes 32
    const folder = converterLayout({ 'text_encoder/model.onnx': wider });
    const create = jest.spyOn(ort.InferenceSession, 'create');
    try {
      const load = StableDiffusionPipeline.fromPretrained(folder, { scheduler: ddim() });
      await expect(load).rejects.toThrow(IncompatibleComponentsError);
      await expect(load).rejects.toThrow(/text encoder 'text_encoder' produces 128-wide embeddings but the UNet's cross-attention expects 32/);
      expect(create).not.toHaveBeenCalled();
    } finally {
      create.mockRestore();
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });

  it('explains a folder that is not a model', async () => {
    await expect(StableDiffusionPipeline.fromPretrained(path.join(tinySd!, 'unet'))).rejects.toThrow(ModelLoadError);
    await expect(StableDiffusionPipeline.fromPretrained('')).rejects.toThrow(InvalidArgumentError);
  });

  it('denoises without a text encoder on a shipped unconditional_embedding.json', async () => {
    const withEncoder = await StableDiffusionPipeline.fromPretrained(tinySd!, { scheduler: ddim() });
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'latentkit-uncond-'));
    try {
      for (const entry of ['unet', 'vae_decoder', 'vae_encoder', 'scheduler', 'text_encoder', 'tokenizer']) fs.symlinkSync(path.join(tinySd!, entry), path.join(folder, entry));
      fs.copyFileSync(path.join(tinySd!, 'model_index.json'), path.join(folder, 'model_index.json'));
      const embedding = await withEncoder.unconditionalEmbedding();
      expect(embedding.dims).toEqual([1, 77, 32]);
      await writeUnconditionalEmbedding(folder, embedding);

      const withoutEncoder = await StableDiffusionPipeline.fromPretrained(folder, { scheduler: ddim(), textEncoder: false });
      try {
        expect(withoutEncoder.textEncoder).toBeUndefined();
        expect([...(await withoutEncoder.unconditionalEmbedding()).data]).toEqual([...embedding.data]);
        const image = { width: 32, height: 32, channels: 3 as const, data: new Uint8Array(32 * 32 * 3).fill(128) };
        const { images } = await withoutEncoder.denoise({ image, strength: 0.5, numInferenceSteps: 4, seed: 0 });
        expect(images[0]).toMatchObject({ width: 32, height: 32, channels: 3 });
        await expect(withoutEncoder.textToImage({ prompt: 'a red circle', numInferenceSteps: 2 })).rejects.toThrow(StateError);
      } finally {
        await withoutEncoder.dispose();
      }
    } finally {
      await withEncoder.dispose();
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });
});
