/**
 * Generation on each layout real Stable Diffusion ONNX folders come in, on scaled-down models with
 * seeded random weights made by tools/sd-export (see tools/fixtures/sd-layouts/README.md):
 *
 * - diffusers-sd15: diffusers' convert_stable_diffusion_checkpoint_to_onnx.py — no config.json in
 *   the ONNX folders, int32 input_ids, float32 [batch] timestep, dynamic `sample` channels, the
 *   UNet's weights in weights.pb, a `latent_sample` VAE encoder.
 * - optimum-sd15: optimum's exporter — config.json per part, the torch pipeline's model_index.json,
 *   int64 input_ids, a scalar timestep, `latent_parameters`, weights in model.onnx_data.
 * - diffusers-sd21: SD 2.x in the converter's layout — nothing but the scheduler config says
 *   v-prediction, nothing says 768, so the default size is 512 as in diffusers'
 *   OnnxStableDiffusionPipeline (`height = 512, width = 512`); the widths come from the graphs.
 * - optimum-sd21: SD 2.x — 1024-wide (here 32-wide) text states from a 23-layer (here 3-layer)
 *   OpenCLIP text encoder, v-prediction DDIM, '!' padding, `sample_size` 96 → 768×768 by default.
 *   The SD 1.5 fixtures' text states are 24 wide (for 768): both 1/32 of the real widths.
 *
 * Each fixture carries diffusers' own output (tools/sd-export/reference.py: diffusers 0.25.1's
 * UNet2DConditionModel, AutoencoderKL and scheduler in torch 1.13 on the same weights), stored as
 * the exact float32 values.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { IncompatibleComponentsError, createTensor, readModelFolder } from '@latentkit/core';
import { declaredDimensions } from '@latentkit/onnx';
import { StableDiffusionPipeline } from './index';
import { referenceCall } from './__fixtures__/generation-reference';

const FIXTURES = path.resolve(__dirname, '../../../tools/fixtures/sd-layouts');
/** The onnxruntime-node that @latentkit/onnx opens sessions with (the pipeline does not depend on it directly). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ort = require(require.resolve('onnxruntime-node', { paths: [path.dirname(require.resolve('@latentkit/onnx'))] })) as {
  InferenceSession: { create: (...args: unknown[]) => Promise<unknown> };
};

/** A tensor as reference.py stores it: its shape and its little-endian float32 bytes in base64. */
interface PackedTensor {
  shape: number[];
  float32_base64: string;
}

function unpack(packed: PackedTensor): Float32Array {
  const bytes = Buffer.from(packed.float32_base64, 'base64');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const values = new Float32Array(bytes.byteLength / 4);
  for (let i = 0; i < values.length; i++) values[i] = view.getFloat32(i * 4, true);
  expect(values.length).toBe(packed.shape.reduce((a, b) => a * b, 1));
  return values;
}

interface Reference {
  prompt: string;
  negative_prompt: string;
  guidance_scale: number;
  num_inference_steps: number;
  height: number;
  width: number;
  seed: number;
  timesteps: number[];
  prompt_embeds: PackedTensor;
  final_latents: PackedTensor;
  image: PackedTensor;
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
  { name: 'diffusers-sd15' as const, timestep: { type: 'float32', layout: 'batch' }, predictionType: 'epsilon', textWidth: 24, defaultImageSize: 512, scheduler: 'PNDMScheduler' },
  { name: 'optimum-sd15', timestep: { type: 'float32', layout: 'scalar' }, predictionType: 'epsilon', textWidth: 24, defaultImageSize: 512, scheduler: 'PNDMScheduler' },
  { name: 'diffusers-sd21', timestep: { type: 'float32', layout: 'batch' }, predictionType: 'v_prediction', textWidth: 32, defaultImageSize: 512, scheduler: 'DDIMScheduler' },
  { name: 'optimum-sd21', timestep: { type: 'float32', layout: 'scalar' }, predictionType: 'v_prediction', textWidth: 32, defaultImageSize: 768, scheduler: 'DDIMScheduler' },
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

  // Tolerance 1e-5 (measured 1.3e-6 on each): onnxruntime vs PyTorch float32 on the same CLIP graph.
  it("encodes the prompts to diffusers' prompt_embeds", async () => {
    const { hiddenStates } = await pipeline.textEncoder!.encode([reference.negative_prompt, reference.prompt]);
    expect(hiddenStates.dims).toEqual([2, 77, layout.textWidth]);
    expect(reference.prompt_embeds.shape).toEqual(hiddenStates.dims);
    const difference = maxAbsDifference(hiddenStates.data, unpack(reference.prompt_embeds));
    expect(difference).toBeLessThan(1e-5);
  });

  // Tolerance: latents and image 1e-4 absolute (images in [0, 1]; measured 5.7e-6 and 1.7e-6 on both
  // SD 1.5 layouts, 3.3e-6 and 6.0e-6 on both SD 2.1 layouts); onnxruntime and PyTorch differ in
  // float32 rounding, which the steps carry. The reference is exact float32, so nothing is added to it.
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
    expect(reference.final_latents.shape).toEqual(first.latents.dims);
    expect(reference.image.shape).toEqual([1, reference.height, reference.width, 3]);
    const latents = maxAbsDifference(first.latents.data, unpack(reference.final_latents));
    const image = maxAbsDifference(first.images[0]!.data, unpack(reference.image));
    expect(latents).toBeLessThan(1e-4);
    expect(image).toBeLessThan(1e-4);
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

const CONVERTER_LAYOUTS = LAYOUTS.filter((layout) => layout.name.startsWith('diffusers-'));

// The converter writes no config.json next to its ONNX files: every width the compatibility check
// needs must come from the graphs (issue 12, item 1) — here on real converter output.
describe.each(CONVERTER_LAYOUTS)('what the $name graphs declare (no config.json)', (layout) => {
  it('gives the text width, the cross-attention width, the channels and the VAE factor, from the graph', async () => {
    const model = await readModelFolder(path.join(FIXTURES, layout.name));
    for (const slot of ['unet', 'text_encoder', 'vae_decoder', 'vae_encoder']) expect(model.components.get(slot)?.configFile).toBeUndefined();
    expect(declaredDimensions(model.components.get('unet')!)).toEqual({
      values: { in_channels: 4, out_channels: 4, cross_attention_dim: layout.textWidth, sample_size: null },
      sources: { in_channels: 'graph', out_channels: 'graph', cross_attention_dim: 'graph' },
      conflicts: [],
    });
    expect(declaredDimensions(model.components.get('text_encoder')!)).toEqual({
      values: { hidden_size: layout.textWidth, max_position_embeddings: 77 },
      sources: { hidden_size: 'graph', max_position_embeddings: 'graph' },
      conflicts: [],
    });
    expect(declaredDimensions(model.components.get('vae_decoder')!).values).toMatchObject({ latent_channels: 4, vae_scale_factor: 8 });
  });
});

/** A copy of fixture `base` with the text encoder and tokenizer of fixture `donor`. */
function swapTextEncoder(base: string, donor: string): string {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), `latentkit-${donor}-text-in-${base}-`));
  fs.cpSync(path.join(FIXTURES, base), folder, { recursive: true });
  for (const part of ['text_encoder', 'tokenizer']) {
    fs.rmSync(path.join(folder, part), { recursive: true });
    fs.cpSync(path.join(FIXTURES, donor, part), path.join(folder, part), { recursive: true });
  }
  return folder;
}

const PAIRS = [
  { base: 'diffusers-sd15', donor: 'diffusers-sd21', textWidth: 32, unetWidth: 24 },
  { base: 'diffusers-sd21', donor: 'diffusers-sd15', textWidth: 24, unetWidth: 32 },
  { base: 'optimum-sd15', donor: 'optimum-sd21', textWidth: 32, unetWidth: 24 },
].filter(({ base, donor }) => [base, donor].every((name) => LAYOUTS.some((layout) => layout.name === name)));

describe.each(PAIRS)("the $donor text encoder with the $base UNet", ({ base, donor, textWidth, unetWidth }) => {
  it('is refused before any session opens, naming both widths', async () => {
    const folder = swapTextEncoder(base, donor);
    const create = jest.spyOn(ort.InferenceSession, 'create');
    try {
      const load = StableDiffusionPipeline.fromPretrained(folder, { sessionOptions: { threads: 1, optimizedModelCache: false } });
      await expect(load).rejects.toThrow(IncompatibleComponentsError);
      await expect(load).rejects.toThrow(`text encoder 'text_encoder' produces ${textWidth}-wide embeddings but the UNet's cross-attention expects ${unetWidth}`);
      expect(create).not.toHaveBeenCalled();
    } finally {
      create.mockRestore();
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });
});
