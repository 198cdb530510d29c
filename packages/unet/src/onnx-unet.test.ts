import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InvalidArgumentError, ModelLoadError, StateError, createTensor, concatBatch, PluginRegistry } from '@latentkit/core';
import { OnnxUNet, onnxUNetPlugin, register, timestepFormatOf, timestepTensor } from './index';

const shared = process.env.LATENTKIT_SHARED ?? path.resolve(__dirname, '../../../../shared');
const tinySd = path.join(shared, 'reference/tiny-sd');
const available = fs.existsSync(path.join(tinySd, 'onnx/unet/model.onnx'));
if (!available) console.warn(`Skipping OnnxUNet tests: reference data not found at ${tinySd} (set LATENTKIT_SHARED)`);

interface Step { t: number; latent_model_input: number[] | null; noise_pred_uncond: number[]; noise_pred_text: number[]; latents: number[] }

(available ? describe : describe.skip)('OnnxUNet on tiny-sd', () => {
  let unet: OnnxUNet;
  const reference = available
    ? (JSON.parse(fs.readFileSync(path.join(tinySd, 'txt2img_pndm.json'), 'utf8')) as { prompt_embeds: number[]; steps: Step[] })
    : undefined;

  beforeAll(async () => {
    unet = await OnnxUNet.fromPretrained(path.join(tinySd, 'onnx'), { sessionOptions: { threads: 1 } });
  });
  afterAll(() => unet?.dispose());

  it('declares its shapes from config.json and the graph', () => {
    expect(unet.inChannels).toBe(4);
    expect(unet.outChannels).toBe(4);
    expect(unet.crossAttentionDim).toBe(32);
    expect(unet.sampleSize).toBe(16);
    // The UNet's config does not say; the model folder's scheduler config (its training) does.
    expect(unet.predictionType).toBe('epsilon');
    // Two down blocks: one down-sampling stage, so latent sides must be even.
    expect(unet.sampleMultiple).toBe(2);
  });

  it('reports a prediction_type typo against the file that holds it (scheduler_config.json), not unet/config.json', async () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'latentkit-unet-'));
    try {
      fs.mkdirSync(path.join(folder, 'unet'));
      fs.mkdirSync(path.join(folder, 'scheduler'));
      fs.symlinkSync(path.join(tinySd, 'onnx/unet/model.onnx'), path.join(folder, 'unet/model.onnx'));
      fs.copyFileSync(path.join(tinySd, 'onnx/unet/config.json'), path.join(folder, 'unet/config.json'));
      const schedulerConfig = path.join(folder, 'scheduler/scheduler_config.json');
      fs.writeFileSync(schedulerConfig, JSON.stringify({ _class_name: 'PNDMScheduler', prediction_type: 'epsilom' }));
      await expect(OnnxUNet.fromPretrained(folder)).rejects.toThrow(`Cannot load ${schedulerConfig}: prediction_type must be one of epsilon, v_prediction, sample, found "epsilom"`);
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });

  // Tolerance: diffusers ran the same ONNX graph's PyTorch source on CPU; ONNX Runtime fuses the
  // operators differently, so outputs agree to float32 rounding (≤ 2e-5 absolute here).
  it('reproduces diffusers\' UNet outputs at every step of txt2img_pndm (batch of 2, uncond first)', async () => {
    const embeds = createTensor([2, 77, 32], Float32Array.from(reference!.prompt_embeds));
    let input: number[] = [];
    let worst = 0;
    for (const step of reference!.steps) {
      input = step.latent_model_input ?? input;
      const half = createTensor([1, 4, 16, 16], Float32Array.from(input));
      const out = await unet.predict({ sample: concatBatch([half, half]), timestep: step.t, encoderHiddenStates: embeds });
      expect(out.dims).toEqual([2, 4, 16, 16]);
      const expected = [...step.noise_pred_uncond, ...step.noise_pred_text];
      for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(out.data[i]! - expected[i]!));
      input = step.latents;
    }
    expect(worst).toBeLessThan(2e-5);
  });

  it('gives the same answer for a batch of 1 as for each half of a batch of 2', async () => {
    const step = reference!.steps[0]!;
    const cond = createTensor([1, 77, 32], Float32Array.from(reference!.prompt_embeds.slice(77 * 32)));
    const out = await unet.predict({ sample: createTensor([1, 4, 16, 16], Float32Array.from(step.latent_model_input!)), timestep: step.t, encoderHiddenStates: cond });
    let worst = 0;
    for (let i = 0; i < out.data.length; i++) worst = Math.max(worst, Math.abs(out.data[i]! - step.noise_pred_text[i]!));
    expect(worst).toBeLessThan(2e-5);
  });

  it('rejects inputs of the wrong shape before running', async () => {
    const states = createTensor([1, 77, 32], new Float32Array(77 * 32));
    await expect(unet.predict({ sample: createTensor([1, 3, 16, 16], new Float32Array(3 * 256)), timestep: 1, encoderHiddenStates: states })).rejects.toThrow(InvalidArgumentError);
    await expect(
      unet.predict({ sample: createTensor([1, 4, 16, 16], new Float32Array(4 * 256)), timestep: 1, encoderHiddenStates: createTensor([1, 77, 768], new Float32Array(77 * 768)) }),
    ).rejects.toThrow(/encoderHiddenStates must be a tensor of shape \[1, \?, 32\]/);
    await expect(unet.predict({ sample: createTensor([1, 4, 16, 16], new Float32Array(4 * 256)), timestep: NaN, encoderHiddenStates: states })).rejects.toThrow(InvalidArgumentError);
  });

  it('cancels with an AbortError before running', async () => {
    const controller = new AbortController();
    controller.abort();
    const call = unet.predict({
      sample: createTensor([1, 4, 16, 16], new Float32Array(4 * 256)),
      timestep: 1,
      encoderHiddenStates: createTensor([1, 77, 32], new Float32Array(77 * 32)),
      signal: controller.signal,
    });
    await expect(call).rejects.toMatchObject({ code: 'aborted' });
  });

  it('refuses to run after dispose, and disposing twice is harmless', async () => {
    const own = await OnnxUNet.fromPretrained(path.join(tinySd, 'onnx/unet'));
    await own.dispose();
    await own.dispose();
    expect(own.disposed).toBe(true);
    await expect(
      own.predict({ sample: createTensor([1, 4, 16, 16], new Float32Array(4 * 256)), timestep: 1, encoderHiddenStates: createTensor([1, 77, 32], new Float32Array(77 * 32)) }),
    ).rejects.toThrow(StateError);
  });

  it('asks for CUDA when told to, and explains how to install it when onnxruntime-node lacks it', async () => {
    let loaded: OnnxUNet | undefined;
    try {
      loaded = await OnnxUNet.fromPretrained(path.join(tinySd, 'onnx'), { sessionOptions: { executionProvider: 'cuda' } });
    } catch (error) {
      expect(error).toBeInstanceOf(ModelLoadError);
      expect((error as Error).message).toMatch(/CUDA execution provider .*ONNXRUNTIME_NODE_INSTALL=cuda12 npm install onnxruntime-node\) or use executionProvider: 'cpu'/s);
    }
    await loaded?.dispose();
    await expect(OnnxUNet.fromPretrained(path.join(tinySd, 'onnx'), { sessionOptions: { executionProvider: 'tpu' as never } })).rejects.toThrow(
      /sessionOptions.executionProvider must be 'cpu' or 'cuda', got "tpu"/,
    );
  });

  it('names the missing file', async () => {
    await expect(OnnxUNet.fromPretrained(path.join(tinySd, 'onnx/scheduler'))).rejects.toThrow(ModelLoadError);
    await expect(OnnxUNet.fromPretrained(path.join(tinySd, 'onnx/scheduler'))).rejects.toThrow(/unet\/model\.onnx/);
  });

  it('refuses a graph that is not a UNet', async () => {
    await expect(OnnxUNet.fromPretrained(path.join(tinySd, 'onnx/vae_decoder'))).rejects.toThrow(/takes exactly sample, timestep, encoder_hidden_states/);
  });

  it('loads through the registry plugin', async () => {
    const local = new PluginRegistry();
    register(local);
    register(local);
    const entry = { slot: 'unet', library: 'diffusers', className: 'OnnxRuntimeModel' };
    expect(local.resolve('unet', entry)).toBe(onnxUNetPlugin);
    expect(onnxUNetPlugin.supports({ slot: 'unet', library: 'diffusers', className: 'UNet2DConditionModel' })).toEqual({ reason: expect.stringContaining('OnnxRuntimeModel') });
    const viaPlugin = (await local.create('unet', { modelPath: path.join(tinySd, 'onnx'), componentPath: path.join(tinySd, 'onnx/unet'), entry })) as OnnxUNet;
    expect(viaPlugin.crossAttentionDim).toBe(32);
    await viaPlugin.dispose();
  });
});

describe('timestep formats (exports differ)', () => {
  it('reads type and rank from the graph\'s metadata', () => {
    expect(timestepFormatOf({ name: 'timestep', type: 'float32', shape: ['batch'] }, 'm')).toEqual({ type: 'float32', layout: 'batch' });
    expect(timestepFormatOf({ name: 'timestep', type: 'int64', shape: [] }, 'm')).toEqual({ type: 'int64', layout: 'scalar' });
    expect(timestepFormatOf({ name: 'timestep', type: 'float32', shape: [1] }, 'm')).toEqual({ type: 'float32', layout: 'one' });
    expect(timestepFormatOf({ name: 'timestep' }, 'm')).toEqual({ type: 'float32', layout: 'batch' });
    expect(timestepFormatOf({ name: 'timestep', type: 'float16', shape: [1] }, 'unet/model.onnx')).toEqual({ type: 'float16', layout: 'one' });
    expect(() => timestepFormatOf({ name: 'timestep', type: 'float64', shape: [1] }, 'unet/model.onnx')).toThrow(/input 'timestep' is float64/);
  });

  it('builds the tensor each format asks for', () => {
    const batch = timestepTensor({ type: 'float32', layout: 'batch' }, 981.5, 2);
    expect([batch.type, batch.dims, [...(batch.data as Float32Array)]]).toEqual(['float32', [2], [981.5, 981.5]]);
    const scalar = timestepTensor({ type: 'int64', layout: 'scalar' }, 980.6, 2);
    expect([scalar.type, scalar.dims, [...(scalar.data as BigInt64Array)]]).toEqual(['int64', [], [981n]]);
    const one = timestepTensor({ type: 'int32', layout: 'one' }, 1, 4);
    expect([one.type, one.dims, [...(one.data as Int32Array)]]).toEqual(['int32', [1], [1]]);
  });
});

const modelTiny = path.resolve(__dirname, '../../model-tiny/model');
(fs.existsSync(path.join(modelTiny, 'unet/model.onnx')) ? describe : describe.skip)('OnnxUNet on latentkit-tiny (fixed-size export)', () => {
  it('reads the fixed latent size and text length from the graph and refuses other sizes up front', async () => {
    const unet = await OnnxUNet.fromPretrained(modelTiny, { sessionOptions: { threads: 1 } });
    try {
      expect(unet.fixedSampleSize).toEqual([16, 16]);
      expect(unet.fixedSequenceLength).toBe(77);
      expect(unet.fixedBatch).toBeUndefined();
      const states = createTensor([1, 77, 128], new Float32Array(77 * 128));
      await expect(unet.predict({ sample: createTensor([1, 4, 32, 16], new Float32Array(4 * 512)), timestep: 1, encoderHiddenStates: states })).rejects.toThrow(
        /sample must be a \[1, 4, 16, 16\] tensor \(this export has a fixed 16×16 latent\), got \[1, 4, 32, 16\]/,
      );
      await expect(
        unet.predict({ sample: createTensor([1, 4, 16, 16], new Float32Array(4 * 256)), timestep: 1, encoderHiddenStates: createTensor([1, 64, 128], new Float32Array(64 * 128)) }),
      ).rejects.toThrow(/encoderHiddenStates must be a tensor of shape \[1, 77, 128\]/);
      const out = await unet.predict({ sample: createTensor([2, 4, 16, 16], new Float32Array(2 * 4 * 256)), timestep: 500, encoderHiddenStates: createTensor([2, 77, 128], new Float32Array(2 * 77 * 128)) });
      expect(out.dims).toEqual([2, 4, 16, 16]);
    } finally {
      await unet.dispose();
    }
  });
});
