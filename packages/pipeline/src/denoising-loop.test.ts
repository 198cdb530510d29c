import { TorchGenerator, createTensor, numel, type Tensor, type UNet, type UNetInput } from '@latentkit/core';
import { DDIMScheduler } from '@latentkit/schedulers';
import { concatChannels, runDenoisingLoop } from './denoising-loop';
import { combineGuidance, predictGuidedNoise } from './guidance';

/**
 * A UNet that is a fixed function of its input, as the schedulers' reference uses
 * (`0.1·x·cos(t/100) + 0.05·sin(x)` on the first four channels), and records every call.
 */
class FunctionUNet implements UNet {
  readonly specificationVersion = 'v1' as const;
  readonly outChannels = 4;
  readonly crossAttentionDim = 8;
  readonly calls: UNetInput[] = [];
  constructor(readonly inChannels: number) {}
  async predict(input: UNetInput): Promise<Tensor<Float32Array>> {
    this.calls.push({ ...input, sample: createTensor(input.sample.dims, input.sample.data.slice()) });
    const [batch = 0, channels = 0, h = 0, w = 0] = input.sample.dims;
    const plane = h * w;
    const out = new Float32Array(batch * 4 * plane);
    for (let b = 0; b < batch; b++) {
      const shift = input.encoderHiddenStates.data[b * numel(input.encoderHiddenStates.dims.slice(1))]!;
      for (let i = 0; i < 4 * plane; i++) {
        const x = input.sample.data[b * channels * plane + i]!;
        out[b * 4 * plane + i] = 0.1 * x * Math.cos(input.timestep / 100) + 0.05 * Math.sin(x) + shift;
      }
    }
    return createTensor([batch, 4, h, w], out);
  }
}

const config = { beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear', steps_offset: 1, set_alpha_to_one: false, clip_sample: false };
const states = (batch: number, value: number) => createTensor([batch, 3, 8], new Float32Array(batch * 24).fill(value));

describe('predictGuidedNoise', () => {
  it('combines as uncond + w·(cond − uncond) in float32, the same batched or sequential', async () => {
    const unet = new FunctionUNet(4);
    const input = createTensor([1, 4, 2, 2], Float32Array.from({ length: 16 }, (_, i) => i / 7 - 1));
    const embeddings = createTensor([2, 3, 8], Float32Array.from({ length: 48 }, (_, i) => (i < 24 ? 0 : 0.5)));
    const request = { unet, modelInput: input, timestep: 500, embeddings, guidanceScale: 7.5, guidance: true };
    const batched = await predictGuidedNoise({ ...request, mode: 'batched' });
    const sequential = await predictGuidedNoise({ ...request, mode: 'sequential' });
    expect(unet.calls.map((c) => c.sample.dims[0])).toEqual([2, 1, 1]);
    expect([...sequential.data]).toEqual([...batched.data]);
    const u = await unet.predict({ sample: input, timestep: 500, encoderHiddenStates: states(1, 0) });
    const c = await unet.predict({ sample: input, timestep: 500, encoderHiddenStates: states(1, 0.5) });
    expect([...batched.data]).toEqual([...combineGuidance(u, c, 7.5).data]);
    expect(batched.data[3]).toBe(Math.fround(u.data[3]! + Math.fround(7.5 * Math.fround(c.data[3]! - u.data[3]!))));
  });
});

describe('runDenoisingLoop', () => {
  it('feeds a 9-channel UNet [scaled latents, mask, masked-image latents] and duplicates them for guidance', async () => {
    const unet = new FunctionUNet(9);
    const scheduler = new DDIMScheduler(config);
    scheduler.setTimesteps(3);
    const latents = createTensor([1, 4, 2, 2], new TorchGenerator(1).randn([1, 4, 2, 2]));
    const mask = createTensor([1, 1, 2, 2], Float32Array.from([1, 0, 0, 1]));
    const maskedImageLatents = createTensor([1, 4, 2, 2], new Float32Array(16).fill(0.25));
    await runDenoisingLoop({
      unet, scheduler, timesteps: scheduler.timesteps, latents,
      embeddings: createTensor([2, 3, 8], new Float32Array(48)),
      guidance: true, guidanceScale: 5, guidanceMode: 'batched', generator: new TorchGenerator(2),
      inpainting: { mask, maskedImageLatents },
    });
    expect(unet.calls).toHaveLength(3);
    const first = unet.calls[0]!.sample;
    expect(first.dims).toEqual([2, 9, 2, 2]);
    const expected = concatChannels([latents, mask, maskedImageLatents]).data;
    expect([...first.data.subarray(0, 36)]).toEqual([...expected]);
    expect([...first.data.subarray(36)]).toEqual([...expected]);
  });

  it('pastes the known region back, re-noised to the next timestep, and the clean image latents after the last step', async () => {
    const unet = new FunctionUNet(4);
    const scheduler = new DDIMScheduler(config);
    scheduler.setTimesteps(4);
    const imageLatents = createTensor([1, 4, 2, 2], Float32Array.from({ length: 16 }, (_, i) => Math.cos(i)));
    const noise = createTensor([1, 4, 2, 2], new TorchGenerator(3).randn([1, 4, 2, 2]));
    const mask = createTensor([1, 1, 2, 2], Float32Array.from([1, 1, 0, 0])); // repaint the top row
    const seen: Float32Array[] = [];
    const result = await runDenoisingLoop({
      unet, scheduler, timesteps: scheduler.timesteps, latents: noise,
      embeddings: createTensor([1, 3, 8], new Float32Array(24)),
      guidance: false, guidanceScale: 1, guidanceMode: 'batched', generator: new TorchGenerator(4),
      blending: { mask, imageLatents, noise },
      onStep: ({ latents }) => void seen.push(latents.data.slice()),
    });
    const timesteps = scheduler.timesteps;
    for (let step = 0; step < timesteps.length - 1; step++) {
      const known = scheduler.addNoise(imageLatents, noise, [timesteps[step + 1]!]).data;
      for (let c = 0; c < 4; c++) for (const p of [2, 3]) expect(seen[step]![c * 4 + p]).toBe(known[c * 4 + p]);
    }
    for (let c = 0; c < 4; c++) {
      for (const p of [2, 3]) expect(result.data[c * 4 + p]).toBe(imageLatents.data[c * 4 + p]);
      for (const p of [0, 1]) expect(result.data[c * 4 + p]).not.toBe(imageLatents.data[c * 4 + p]);
    }
  });

  it('stops between steps when the signal fires', async () => {
    const scheduler = new DDIMScheduler(config);
    scheduler.setTimesteps(5);
    const controller = new AbortController();
    const unet = new FunctionUNet(4);
    const run = runDenoisingLoop({
      unet, scheduler, timesteps: scheduler.timesteps, latents: createTensor([1, 4, 2, 2], new Float32Array(16)),
      embeddings: createTensor([1, 3, 8], new Float32Array(24)),
      guidance: false, guidanceScale: 1, guidanceMode: 'batched', generator: new TorchGenerator(0),
      signal: controller.signal,
      onStep: ({ step }) => (step === 1 ? controller.abort() : undefined),
    });
    await expect(run).rejects.toMatchObject({ code: 'aborted' });
    expect(unet.calls).toHaveLength(2);
  });
});
