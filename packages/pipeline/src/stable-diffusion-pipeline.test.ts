import * as fs from 'node:fs';
import * as path from 'node:path';
import { AbortError, InvalidArgumentError, StateError, TorchGenerator, createTensor, type Scheduler } from '@latentkit/core';
import { CLIPTextEncoder } from '@latentkit/encoder-clip';
import * as schedulers from '@latentkit/schedulers';
import { referencePath } from '@latentkit/testing';
import { OnnxUNet } from '@latentkit/unet';
import { OnnxVae } from '@latentkit/vae';
import { StableDiffusionPipeline, imageToTensor, type RgbImage } from './index';

const tinySd = referencePath('tiny-sd');
if (!tinySd) console.warn('Skipping StableDiffusionPipeline tests: ../shared/reference/tiny-sd is absent (set LATENTKIT_SHARED)');
const folder = tinySd ? path.join(tinySd, 'onnx') : '';

/** The model's own scheduler config, as diffusers' `DDIMScheduler.from_config(pipe.scheduler.config)`. */
function ddim(): Scheduler {
  const config = JSON.parse(fs.readFileSync(path.join(folder, 'scheduler/scheduler_config.json'), 'utf8')) as Record<string, unknown>;
  return new schedulers.DDIMScheduler(config, { onUnknownKey: () => {} });
}

async function assemble(guidanceMode: 'batched' | 'sequential' = 'batched'): Promise<StableDiffusionPipeline> {
  const [unet, vae, textEncoder] = await Promise.all([
    OnnxUNet.fromPretrained(folder, { sessionOptions: { threads: 1 } }),
    OnnxVae.fromPretrained(folder, { sessionOptions: { threads: 1 } }),
    CLIPTextEncoder.fromPretrained(folder, { sessionOptions: { threads: 1 } }),
  ]);
  return new StableDiffusionPipeline({ unet, vae, textEncoder, scheduler: ddim() }, { guidanceMode });
}

function image(width: number, height: number, channels: 1 | 3 | 4 = 3): RgbImage {
  const data = new Uint8Array(width * height * channels).map((_, i) => (i * 37) % 256);
  return { width, height, channels, data } as RgbImage;
}

const quick = { prompt: 'a red circle', numInferenceSteps: 3, seed: 42 } as const;

(tinySd ? describe : describe.skip)('StableDiffusionPipeline on tiny-sd (DDIM)', () => {
  let pipeline: StableDiffusionPipeline;
  beforeAll(async () => {
    pipeline = await assemble();
  });
  afterAll(() => pipeline?.dispose());

  it('makes 32×32 RGB images by default (UNet sample size 16 × VAE scale factor 2)', async () => {
    const steps: number[] = [];
    const result = await pipeline.textToImage({ ...quick, numImagesPerPrompt: 2, onStep: ({ step }) => void steps.push(step) });
    expect(result.images).toHaveLength(2);
    expect(result.images[0]).toMatchObject({ width: 32, height: 32, channels: 3 });
    expect(result.images[0]!.data).toBeInstanceOf(Uint8Array);
    expect(result.latents.dims).toEqual([2, 4, 16, 16]);
    expect(steps).toEqual([0, 1, 2]);
  });

  it('starts from torch.randn with the seed: a seed equals passing its first draw as latents', async () => {
    const seen: Float32Array[] = [];
    const noise = new TorchGenerator(42).randn([1, 4, 16, 16]);
    const fromSeed = await pipeline.textToImage({ ...quick, outputType: 'float' });
    const fromLatents = await pipeline.textToImage({ ...quick, seed: undefined, latents: createTensor([1, 4, 16, 16], noise), outputType: 'float', onStep: ({ latents }) => void seen.push(latents.data.slice()) });
    expect([...fromLatents.latents.data]).toEqual([...fromSeed.latents.data]);
    expect(seen).toHaveLength(3);
  });

  it('runs a batch of prompts as each prompt alone (embeddings [uncond…; cond…] against latents [x…; x…])', async () => {
    const noise = new TorchGenerator(8).randn([2, 4, 16, 16]);
    const batch = await pipeline.textToImage({
      ...quick, seed: undefined, prompt: ['a red circle', 'a blue square'], negativePrompt: ['green', ''],
      latents: createTensor([2, 4, 16, 16], noise), outputType: 'float',
    });
    const alone = await Promise.all(
      [['a red circle', 'green'], ['a blue square', '']].map(([prompt, negativePrompt], i) =>
        pipeline.textToImage({ ...quick, seed: undefined, prompt: prompt!, negativePrompt, latents: createTensor([1, 4, 16, 16], noise.slice(i * 1024, (i + 1) * 1024)), outputType: 'float' }),
      ),
    );
    // Batch 4 against batch 2 through the same graphs: float32 rounding only (≤ 1e-5).
    for (let i = 0; i < 2; i++) {
      let worst = 0;
      alone[i]!.latents.data.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - batch.latents.data[i * 1024 + j]!))));
      expect(worst).toBeLessThan(1e-5);
    }
  });

  it('gives the same image with guidance batched (2B) or sequential (2 × B)', async () => {
    const sequential = await assemble('sequential');
    try {
      const a = await pipeline.textToImage({ ...quick, outputType: 'float' });
      const b = await sequential.textToImage({ ...quick, outputType: 'float' });
      let worst = 0;
      a.images[0]!.data.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - b.images[0]!.data[i]!))));
      // Same graph, batch 2 vs batch 1: onnxruntime may order its reductions differently (≤ 1e-5).
      expect(worst).toBeLessThan(1e-5);
    } finally {
      await sequential.dispose();
    }
  });

  it('returns float images in [0, 1] with outputType float', async () => {
    const { images } = await pipeline.textToImage({ ...quick, outputType: 'float' });
    expect(images[0]!.data).toBeInstanceOf(Float32Array);
    expect(Math.min(...images[0]!.data)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...images[0]!.data)).toBeLessThanOrEqual(1);
  });

  it('runs image-to-image, both inpainting paths and denoise', async () => {
    const init = image(32, 32);
    const mask = { ...image(32, 32, 1), data: new Uint8Array(32 * 32).map((_, i) => (i % 32 < 16 ? 255 : 0)) };
    const img2img = await pipeline.imageToImage({ ...quick, image: init, strength: 0.7, numInferenceSteps: 4 });
    expect(img2img.images[0]).toMatchObject({ width: 32, height: 32 });
    const steps: number[] = [];
    const inpainted = await pipeline.inpaint({ ...quick, image: init, mask, onStep: ({ timestep }) => void steps.push(timestep) });
    expect(inpainted.latents.dims).toEqual([1, 4, 16, 16]);
    expect(steps).toHaveLength(3);
    const cleaned = await pipeline.denoise({ image: { ...init, channels: 4, data: new Uint8Array(32 * 32 * 4) } as never, strength: 0.5, numInferenceSteps: 4, seed: 1 });
    expect(cleaned.images[0]).toMatchObject({ width: 32, height: 32, channels: 3 });
  });

  it('image-to-image draws the posterior sample, then the noise, from the seed (diffusers\' order)', async () => {
    const init = image(32, 32);
    const inputs: Float32Array[] = [];
    const predict = pipeline.unet.predict.bind(pipeline.unet);
    const spy = jest.spyOn(pipeline.unet, 'predict').mockImplementation((input) => (inputs.push(input.sample.data.slice()), predict(input)));
    let a, b;
    try {
      a = await pipeline.imageToImage({ ...quick, image: init, strength: 0.5, numInferenceSteps: 6, guidanceScale: 1 });
      b = await pipeline.imageToImage({ ...quick, image: init, strength: 0.5, numInferenceSteps: 6, guidanceScale: 1 });
    } finally {
      spy.mockRestore();
    }
    expect([...a.latents.data]).toEqual([...b.latents.data]);
    const generator = new TorchGenerator(quick.seed);
    const encoded = await pipeline.vae.encode(imageToTensor(init), { generator });
    const imageLatents = createTensor(encoded.dims, encoded.data.map((v) => Math.fround(pipeline.vae.scalingFactor) * v));
    const noise = createTensor(encoded.dims, generator.randn(encoded.dims));
    const scheduler = ddim();
    const { timesteps } = scheduler.getImg2ImgTimesteps!(6, 0.5);
    expect(timesteps).toHaveLength(3);
    expect([...inputs[0]!]).toEqual([...scheduler.addNoise(imageLatents, noise, [timesteps[0]!]).data]);
  });

  it('inpainting with an all-black mask keeps the image\'s latents exactly (plain UNet: pasted back)', async () => {
    const init = image(32, 32);
    const keep = { width: 32, height: 32, channels: 1 as const, data: new Uint8Array(32 * 32) };
    const { latents } = await pipeline.inpaint({ ...quick, image: init, mask: keep, strength: 0.6, numInferenceSteps: 5 });
    const encoded = await pipeline.vae.encode(imageToTensor(init), { generator: new TorchGenerator(quick.seed) });
    expect([...latents.data]).toEqual([...encoded.data.map((v) => Math.fround(pipeline.vae.scalingFactor) * v)]);
  });

  it('cancels between steps with an AbortError', async () => {
    const controller = new AbortController();
    const call = pipeline.textToImage({ ...quick, numInferenceSteps: 10, signal: controller.signal, onStep: ({ step }) => (step === 1 ? controller.abort() : undefined) });
    await expect(call).rejects.toThrow(AbortError);
    const aborted = new AbortController();
    aborted.abort(new Error('user left'));
    await expect(pipeline.textToImage({ ...quick, signal: aborted.signal })).rejects.toThrow(/aborted: user left/);
  });

  it('runs two pipelines, and two calls on one pipeline, at once with the results of running them alone', async () => {
    const other = await assemble();
    try {
      const alone = await pipeline.textToImage({ ...quick, outputType: 'float' });
      const [a, b, c] = await Promise.all([
        pipeline.textToImage({ ...quick, outputType: 'float' }),
        other.textToImage({ ...quick, outputType: 'float' }),
        pipeline.textToImage({ ...quick, outputType: 'float' }),
      ]);
      for (const result of [a, b, c]) expect([...result.latents.data]).toEqual([...alone.latents.data]);
    } finally {
      await other.dispose();
    }
  });

  it("runs a third-party scheduler with clone() on a copy per call, concurrently; one without clone() one call at a time", async () => {
    /** A scheduler that is not one of latentkit's classes: it delegates to DDIM and logs its steps. */
    const thirdParty = (log: string[], label: string, withClone: boolean): Scheduler => {
      const inner = ddim();
      const scheduler: Scheduler = {
        specificationVersion: 'v1',
        className: 'ThirdPartyDDIM',
        config: inner.config,
        order: inner.order,
        get timesteps() { return inner.timesteps; },
        initNoiseSigma: inner.initNoiseSigma,
        predictionType: inner.predictionType,
        setTimesteps: (n, options) => inner.setTimesteps(n, options),
        scaleModelInput: (sample, t) => inner.scaleModelInput(sample, t),
        step: (output, t, sample, options) => (log.push(label), inner.step(output, t, sample, options)),
        addNoise: (original, noise, timesteps) => inner.addNoise(original, noise, timesteps),
      };
      return withClone ? { ...scheduler, get timesteps() { return inner.timesteps; }, clone: () => thirdParty(log, `${label}'`, true) } : scheduler;
    };
    const run = async (withClone: boolean): Promise<string[]> => {
      const log: string[] = [];
      const local = new StableDiffusionPipeline({ unet: pipeline.unet, vae: pipeline.vae, textEncoder: pipeline.textEncoder, scheduler: thirdParty(log, 'template', withClone) });
      const [a, b] = await Promise.all([local.textToImage({ ...quick, outputType: 'float' }), local.textToImage({ ...quick, outputType: 'float' })]);
      expect([...a.latents.data]).toEqual([...b.latents.data]);
      return log;
    };
    const cloned = await run(true);
    expect(cloned.every((label) => label === "template'")).toBe(true); // every step ran on a clone
    expect(cloned).toHaveLength(6);
    // Without clone() the template itself runs, and the second call waits for the first.
    expect(await run(false)).toEqual(new Array(6).fill('template'));
  });

  describe('rejects bad input with an InvalidArgumentError before any compute', () => {
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['width not divisible by the VAE scale factor', { width: 33 }, /width must be a positive multiple of the VAE scale factor 2, got 33: use 32 or 34/],
      ['height of zero', { height: 0 }, /height must be a positive multiple/],
      ['an empty prompt', { prompt: '' }, /prompt must be a non-empty prompt/],
      ['a non-string prompt', { prompt: 42 }, /prompt must be a string, got 42/],
      ['an empty list of prompts', { prompt: [] }, /prompt must be a prompt or a non-empty list/],
      ['a non-string prompt in a list', { prompt: ['a', null] }, /prompt\[1\] must be a string/],
      ['negative prompts of another count', { prompt: ['a', 'b'], negativePrompt: ['x'] }, /negativePrompt must be a string or a list of 2 strings/],
      ['zero steps', { numInferenceSteps: 0 }, /numInferenceSteps must be a positive integer/],
      ['a negative guidance scale', { guidanceScale: -1 }, /guidanceScale must be a finite number ≥ 0/],
      ['a fractional seed', { seed: 1.5 }, /seed must be a non-negative integer/],
      ['a seed and a generator', { generator: new TorchGenerator(1) }, /pass either seed or generator/],
      ['latents of the wrong shape', { latents: createTensor([1, 4, 8, 8], new Float32Array(256)) }, /latents must be a float32 tensor of shape \[1, 4, 16, 16\]/],
      ['an unknown output type', { outputType: 'png' }, /outputType must be 'uint8' or 'float'/],
      ['a non-function onStep', { onStep: 1 }, /onStep must be a function/],
    ];
    it.each(cases)('%s', async (_, override, message) => {
      let unetCalls = 0;
      const predict = pipeline.unet.predict.bind(pipeline.unet);
      const spy = jest.spyOn(pipeline.unet, 'predict').mockImplementation((input) => (unetCalls++, predict(input)));
      try {
        const call = pipeline.textToImage({ ...quick, ...override } as never);
        await expect(call).rejects.toThrow(InvalidArgumentError);
        await expect(pipeline.textToImage({ ...quick, ...override } as never)).rejects.toThrow(message);
        expect(unetCalls).toBe(0);
      } finally {
        spy.mockRestore();
      }
    });

    it('for image-to-image, inpainting and denoise', async () => {
      const init = image(32, 32);
      await expect(pipeline.imageToImage({ ...quick, image: init, strength: 0 })).rejects.toThrow(/strength must be a number in \(0, 1\]/);
      await expect(pipeline.imageToImage({ ...quick, image: init, strength: 1.5 })).rejects.toThrow(InvalidArgumentError);
      await expect(pipeline.imageToImage({ ...quick, image: init, strength: 0.2 })).rejects.toThrow(/strength must be at least 0.333/);
      await expect(pipeline.imageToImage({ ...quick, image: image(31, 32) })).rejects.toThrow(/image.width must be a positive multiple of the VAE scale factor 2, got 31/);
      await expect(pipeline.imageToImage({ ...quick, image: { ...init, data: new Uint8Array(10) } })).rejects.toThrow(/image.data must be 3072 values \(32×32×3\)/);
      await expect(pipeline.imageToImage({ ...quick, image: { ...init, channels: 2 } as never })).rejects.toThrow(/image.channels must be 1, 3 or 4/);
      await expect(pipeline.imageToImage({ ...quick, image: 'photo.png' as never })).rejects.toThrow(/image must be an image/);
      await expect(pipeline.inpaint({ ...quick, image: init, mask: image(16, 16, 1) })).rejects.toThrow(/mask must be a 32×32 image \(the image's size\), got "16×16"/);
      await expect(pipeline.inpaint({ ...quick, image: init, mask: undefined as never })).rejects.toThrow(/mask must be an image/);
      await expect(pipeline.denoise({ image: init, strength: -0.1 })).rejects.toThrow(InvalidArgumentError);
    });
  });

  it('disposes every session; later calls throw a StateError', async () => {
    const own = await assemble();
    await own.dispose();
    await own.dispose();
    expect((own.unet as OnnxUNet).disposed).toBe(true);
    expect((own.vae as OnnxVae).disposed).toBe(true);
    await expect(own.textToImage(quick)).rejects.toThrow(StateError);
  });

  it('waits for running calls before disposing', async () => {
    const own = await assemble();
    const running = own.textToImage({ ...quick, numInferenceSteps: 4 });
    const disposing = own.dispose();
    await expect(running).resolves.toMatchObject({ images: [expect.objectContaining({ width: 32 })] });
    await disposing;
    expect((own.unet as OnnxUNet).disposed).toBe(true);
  });
});

(tinySd ? describe : describe.skip)('step previews on tiny-sd', () => {
  it('gives fast previews at latent resolution and full ones at image size (quality is checked on the trained latentkit-tiny)', async () => {
    const pipeline = await assemble();
    try {
      const previews: { fast: RgbImage[]; full: RgbImage[] }[] = [];
      await pipeline.textToImage({ ...quick, onStep: async ({ preview }) => void previews.push({ fast: await preview(), full: await preview('full') }) });
      const { fast, full } = previews[previews.length - 1]!;
      expect(fast[0]).toMatchObject({ width: 16, height: 16, channels: 3 });
      expect(full[0]).toMatchObject({ width: 32, height: 32, channels: 3 });
      await expect(pipeline.textToImage({ ...quick, onStep: ({ preview }) => preview('best' as never) })).rejects.toThrow(/quality must be 'fast' or 'full'/);
    } finally {
      await pipeline.dispose();
    }
  });
});
