/**
 * Generation on each layout real Stable Diffusion ONNX folders come in, on scaled-down models with
 * seeded random weights made by tools/sd-export (see tools/fixtures/sd-layouts/README.md):
 *
 * - diffusers-sd15: diffusers' convert_stable_diffusion_checkpoint_to_onnx.py — no config.json in
 *   the ONNX folders, int32 input_ids, float32 [batch] timestep, dynamic `sample` channels, the
 *   UNet's weights in weights.pb, a `latent_sample` VAE encoder.
 * - optimum-sd15: optimum's exporter — config.json per part, the torch pipeline's model_index.json,
 *   int64 input_ids, a scalar timestep, `latent_parameters`, weights in model.onnx_data.
 * - optimum-sd21: SD 2.x — 1024-wide (here 64-wide) text states from a 23-layer (here 3-layer)
 *   OpenCLIP text encoder, v-prediction DDIM, '!' padding, 768×768 by default.
 *
 * Each fixture carries diffusers' own output (tools/sd-export/reference.py: diffusers 0.25.1's
 * UNet2DConditionModel, AutoencoderKL and scheduler in torch 1.13 on the same weights).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createTensor } from '@latentkit/core';
import { StableDiffusionPipeline } from './index';
import { referenceCall } from './__fixtures__/generation-reference';

const FIXTURES = path.resolve(__dirname, '../../../tools/fixtures/sd-layouts');

interface Reference {
  prompt: string;
  negative_prompt: string;
  guidance_scale: number;
  num_inference_steps: number;
  height: number;
  width: number;
  seed: number;
  timesteps: number[];
  prompt_embeds: number[];
  final_latents: number[];
  image: number[];
}

interface Layout {
  name: string;
  timestep: { type: string; layout: string };
  predictionType: 'epsilon' | 'v_prediction';
  textWidth: number;
  defaultImageSize: number;
  scheduler: string;
}

const LAYOUTS = ([
  { name: 'diffusers-sd15' as const, timestep: { type: 'float32', layout: 'batch' }, predictionType: 'epsilon', textWidth: 32, defaultImageSize: 512, scheduler: 'PNDMScheduler' },
  { name: 'optimum-sd15', timestep: { type: 'float32', layout: 'scalar' }, predictionType: 'epsilon', textWidth: 32, defaultImageSize: 512, scheduler: 'PNDMScheduler' },
  { name: 'optimum-sd21', timestep: { type: 'float32', layout: 'scalar' }, predictionType: 'v_prediction', textWidth: 64, defaultImageSize: 768, scheduler: 'DDIMScheduler' },
] satisfies Layout[]).filter((layout) => fs.existsSync(path.join(FIXTURES, layout.name)));

function maxAbsDifference(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  return worst;
}

describe.each(LAYOUTS)('the $name layout', (layout) => {
  const folder = path.join(FIXTURES, layout.name);
  const reference = JSON.parse(fs.readFileSync(path.join(folder, 'reference.json'), 'utf8')) as Reference;
  let pipeline: StableDiffusionPipeline;
  beforeAll(async () => {
    pipeline = await StableDiffusionPipeline.fromPretrained(folder, { sessionOptions: { threads: 1, optimizedModelCache: false } });
  });
  afterAll(() => pipeline?.dispose());

  it('reads the I/O conventions from the graphs and the folder', () => {
    const unet = pipeline.unet as unknown as { timestepInput: unknown; predictionType: string; crossAttentionDim: number };
    expect(unet.timestepInput).toEqual(layout.timestep);
    expect(unet.predictionType).toBe(layout.predictionType);
    expect(unet.crossAttentionDim).toBe(layout.textWidth);
    expect(pipeline.scheduler.className).toBe(layout.scheduler);
    expect(pipeline.defaultImageSize).toBe(layout.defaultImageSize);
  });

  // Tolerance 1e-5 (measured 1.4e-6 on diffusers-sd15): onnxruntime vs PyTorch float32 on the same CLIP graph.
  it("encodes the prompts to diffusers' prompt_embeds", async () => {
    const { hiddenStates } = await pipeline.textEncoder!.encode([reference.negative_prompt, reference.prompt]);
    expect(hiddenStates.dims).toEqual([2, 77, layout.textWidth]);
    expect(maxAbsDifference(hiddenStates.data, reference.prompt_embeds)).toBeLessThan(1e-5);
  });

  // Tolerance: latents and image 1e-4 absolute (images in [0, 1]; measured 5.5e-6 and 2.1e-6 on
  // diffusers-sd15); onnxruntime and PyTorch differ in float32 rounding, which the steps carry.
  it("generates diffusers' image from the same seed, and the same image twice", async () => {
    const options = {
      ...referenceCall(reference),
      seed: reference.seed,
      outputType: 'float' as const,
    };
    const timesteps: number[] = [];
    const first = await pipeline.textToImage({ ...options, onStep: ({ timestep }) => void timesteps.push(timestep) });
    expect(timesteps).toEqual(reference.timesteps);
    expect(first.images[0]!.data.length).toBe(reference.width * reference.height * 3);
    expect(maxAbsDifference(first.latents.data, reference.final_latents)).toBeLessThan(1e-4);
    expect(maxAbsDifference(first.images[0]!.data, reference.image)).toBeLessThan(1e-4);
    const second = await pipeline.textToImage({ ...options, guidanceMode: 'sequential' });
    // Sequential guidance runs the same graph on half the batch: equal to float32 rounding.
    expect(maxAbsDifference(second.images[0]!.data, first.images[0]!.data)).toBeLessThan(1e-5);
  });

  it('encodes an image with its VAE encoder (opened on first use)', async () => {
    const vae = pipeline.vae as unknown as { encoderLoaded: boolean; canEncode: boolean };
    expect(vae.canEncode).toBe(true);
    expect(vae.encoderLoaded).toBe(false);
    const pixels = createTensor([1, 3, 64, 64], new Float32Array(3 * 64 * 64).map((_, i) => Math.sin(i / 50)));
    const latents = await pipeline.vae.encode(pixels, {});
    expect(latents.dims).toEqual([1, 4, 8, 8]);
    expect(vae.encoderLoaded).toBe(true);
  });
});

if (LAYOUTS.length === 0) {
  it.skip('layout fixtures are absent (tools/fixtures/sd-layouts): run tools/sd-export/make-fixtures.sh', () => undefined);
}
