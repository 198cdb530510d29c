/**
 * The oracle: diffusers 0.25.1's StableDiffusionPipeline on tiny-sd (see
 * ../shared/reference/README.md), reproduced step by step through the public API.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TorchGenerator, type Tensor, type UNetInput } from '@latentkit/core';
import { maxAbsDifference, referencePath } from '@latentkit/testing';
import { referenceCall, type GenerationReference } from './__fixtures__/generation-reference';
import { StableDiffusionPipeline } from './index';

const tinySd = referencePath('tiny-sd');
if (!tinySd) console.warn('Skipping the diffusers parity tests: ../shared/reference/tiny-sd is absent (set LATENTKIT_SHARED)');

interface Reference extends GenerationReference {
  latent_seed: number;
  initial_latents: number[];
  prompt_embeds: number[];
  steps: { t: number; noise_pred_uncond: number[]; noise_pred_text: number[]; latents: number[] }[];
  final_latents: number[];
  vae_decoder_output: number[];
  image: number[];
}

(tinySd ? describe : describe.skip)('parity with diffusers on tiny-sd: txt2img_pndm.json', () => {
  const reference = tinySd ? (JSON.parse(fs.readFileSync(path.join(tinySd, 'txt2img_pndm.json'), 'utf8')) as Reference) : undefined!;
  let pipeline: StableDiffusionPipeline;
  beforeAll(async () => {
    pipeline = await StableDiffusionPipeline.fromPretrained(path.join(tinySd!, 'onnx'), { sessionOptions: { threads: 1 } });
  });
  afterAll(() => pipeline?.dispose());

  it('loads the model\'s own PNDM scheduler', () => {
    expect(pipeline.scheduler.className).toBe('PNDMScheduler');
  });

  // Tolerance: one float32 ulp at |x| < 2 (2.4e-7). torch's vectorised log/cos in Box–Muller
  // round the last bit differently across CPU instruction sets; the stream itself is the same.
  it('draws the initial latents of seed 42 (torch.randn on the CPU) to one ulp', () => {
    const noise = new TorchGenerator(reference.latent_seed).randn([1, 4, 16, 16]);
    expect(maxAbsDifference(noise, reference.initial_latents)).toBeLessThanOrEqual(2.4e-7);
  });

  // Tolerance 1e-5 (measured 2e-6): the same CLIP graph, run by onnxruntime instead of PyTorch.
  it('encodes the prompt and the empty negative prompt to diffusers\' prompt_embeds', async () => {
    const { hiddenStates } = await pipeline.textEncoder!.encode([reference.negative_prompt, reference.prompt]);
    expect(hiddenStates.dims).toEqual([2, 77, 32]);
    expect(maxAbsDifference(hiddenStates.data, reference.prompt_embeds)).toBeLessThan(1e-5);
  });

  it('reproduces each step\'s UNet outputs and latents, and the decoded image, from seed 42', async () => {
    const unetOutputs: Float32Array[] = [];
    const predict = pipeline.unet.predict.bind(pipeline.unet);
    const spy = jest.spyOn(pipeline.unet, 'predict').mockImplementation(async (input: UNetInput) => {
      const out: Tensor<Float32Array> = await predict(input);
      unetOutputs.push(out.data.slice());
      return out;
    });
    const stepLatents: Float32Array[] = [];
    const timesteps: number[] = [];
    let result;
    try {
      result = await pipeline.textToImage({
        ...referenceCall(reference),
        seed: reference.latent_seed,
        outputType: 'float',
        onStep: ({ timestep, latents }) => {
          timesteps.push(timestep);
          stepLatents.push(latents.data.slice());
        },
      });
    } finally {
      spy.mockRestore();
    }
    expect(timesteps).toEqual(reference.steps.map((s) => s.t));
    // Per step: UNet outputs to 1e-5 and latents to 1e-4 absolute (measured: 2e-6 and 3e-5).
    // onnxruntime and PyTorch differ in float32 rounding (≈1e-6 per call); PNDM's linear
    // multistep carries it forward.
    reference.steps.forEach((step, i) => {
      expect(maxAbsDifference(unetOutputs[i]!, [...step.noise_pred_uncond, ...step.noise_pred_text])).toBeLessThan(1e-5);
      expect(maxAbsDifference(stepLatents[i]!, step.latents)).toBeLessThan(1e-4);
    });
    expect(maxAbsDifference(result.latents.data, reference.final_latents)).toBeLessThan(1e-4);
    // The image: clamp(decoded / 2 + 0.5, 0, 1) in HWC order, to 1e-5 (the issue expects about
    // 1e-4; measured 8e-7).
    expect(maxAbsDifference(result.images[0]!.data, reference.image)).toBeLessThan(1e-5);
  });

  it('gives the same 8-bit image as diffusers\' round(255 · image) up to one level', async () => {
    const { images } = await pipeline.textToImage({
      prompt: reference.prompt,
      guidanceScale: reference.guidance_scale,
      numInferenceSteps: reference.num_inference_steps,
      seed: reference.latent_seed,
    });
    const expected = reference.image.map((v) => Math.round(v * 255));
    expect(maxAbsDifference(images[0]!.data, expected)).toBeLessThanOrEqual(1);
  });
});
