import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError, PluginRegistry, StateError, TorchGenerator, createTensor, numel, type Generator } from '@latentkit/core';
import { OnnxVae, exposePosteriorOutputs, onnxVaePlugin, register, samplePosterior } from './index';

const shared = process.env.LATENTKIT_SHARED ?? path.resolve(__dirname, '../../../../shared');
const tinySd = path.join(shared, 'reference/tiny-sd');
const available = fs.existsSync(path.join(tinySd, 'onnx/vae_decoder/model.onnx'));
if (!available) console.warn(`Skipping OnnxVae tests: reference data not found at ${tinySd} (set LATENTKIT_SHARED)`);

/** A generator that replays fixed values and counts what was drawn (a test fixture for the draw order). */
class CountingGenerator implements Generator {
  readonly specificationVersion = 'v1' as const;
  drawn = 0;
  randn(dims: readonly number[]): Float32Array {
    const out = Float32Array.from({ length: numel(dims) }, (_, i) => ((this.drawn + i) % 5) - 2);
    this.drawn += out.length;
    return out;
  }
  manualSeed(): this {
    this.drawn = 0;
    return this;
  }
  initialSeed(): bigint {
    return 0n;
  }
}

describe('samplePosterior', () => {
  it('returns mean + exp(logvar / 2) · ε, or the mean without a generator', () => {
    const moments = createTensor([1, 2, 1, 2], Float32Array.from([1, 2, Math.log(4), -100]));
    expect([...samplePosterior(moments).data]).toEqual([1, 2]);
    const generator = new CountingGenerator();
    // ε = [-2, -1]; σ = [2, exp(-15)] (log-variance clamped at -30).
    const sample = samplePosterior(moments, generator);
    expect(sample.dims).toEqual([1, 1, 1, 2]);
    expect(sample.data[0]).toBeCloseTo(1 - 4, 6);
    expect(sample.data[1]).toBeCloseTo(2 - Math.exp(-15), 6);
    expect(generator.drawn).toBe(2);
  });
});

(available ? describe : describe.skip)('OnnxVae on tiny-sd', () => {
  let vae: OnnxVae;
  const reference = available
    ? (JSON.parse(fs.readFileSync(path.join(tinySd, 'txt2img_pndm.json'), 'utf8')) as { final_latents: number[]; vae_decoder_output: number[] })
    : undefined;

  beforeAll(async () => {
    vae = await OnnxVae.fromPretrained(path.join(tinySd, 'onnx'), { sessionOptions: { threads: 1 } });
  });
  afterAll(() => vae?.dispose());

  it('reads its factors from config.json', () => {
    expect(vae.scaleFactor).toBe(2);
    expect(vae.scalingFactor).toBe(0.18215);
    expect(vae.shiftFactor).toBe(0);
    expect(vae.latentChannels).toBe(4);
    expect(vae.canEncode).toBe(true);
    expect(vae.tiling).toEqual({ tileSize: 32, overlap: 8 });
  });

  // Tolerance 1e-4 absolute: float32 rounding through the decoder's convolutions and group norms.
  it('decodes diffusers\' final latents to diffusers\' decoder output', async () => {
    const latents = Float32Array.from(reference!.final_latents, (v) => v / 0.18215);
    const image = await vae.decode(createTensor([1, 4, 16, 16], latents));
    expect(image.dims).toEqual([1, 3, 32, 32]);
    let worst = 0;
    reference!.vae_decoder_output.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - image.data[i]!))));
    expect(worst).toBeLessThan(1e-4);
  });

  it('decodes a larger latent in tiles, and a tile as large as the image gives the untiled result', async () => {
    const latents = createTensor([1, 4, 40, 24], Float32Array.from({ length: 4 * 40 * 24 }, (_, i) => Math.sin(i)));
    const tiled = await vae.decode(latents);
    expect(tiled.dims).toEqual([1, 3, 80, 48]);
    const untiled = await OnnxVae.fromPretrained(path.join(tinySd, 'onnx'), { tiling: false, encoder: false });
    const oneTile = await OnnxVae.fromPretrained(path.join(tinySd, 'onnx'), { tiling: { tileSize: 80 }, encoder: false });
    try {
      expect([...(await oneTile.decode(latents)).data]).toEqual([...(await untiled.decode(latents)).data]);
      expect(untiled.canEncode).toBe(false);
    } finally {
      await untiled.dispose();
      await oneTile.dispose();
    }
  });

  it('opens up the latent_sample encoder and samples mean + σ·ε with the caller\'s generator', async () => {
    const image = createTensor([1, 3, 32, 32], Float32Array.from({ length: 3 * 1024 }, (_, i) => Math.sin(i / 50)));
    const mean = await vae.encode(image);
    expect(vae.encoderSampling).toBe('posterior');
    expect([...(await vae.encode(image)).data]).toEqual([...mean.data]);
    const a = await vae.encode(image, { generator: new TorchGenerator(7) });
    const b = await vae.encode(image, { generator: new TorchGenerator(7) });
    expect([...a.data]).toEqual([...b.data]);
    // (sample − mean) / ε is the posterior's σ: positive wherever ε is not tiny.
    const eps = new TorchGenerator(7).randn([1, 4, 16, 16]);
    for (let i = 0; i < eps.length; i++) if (Math.abs(eps[i]!) > 1e-2) expect((a.data[i]! - mean.data[i]!) / eps[i]!).toBeGreaterThan(0);
  });

  it('encodes to [batch, 4, H/2, W/2] and draws one randn of the latents\' shape', async () => {
    const generator = new CountingGenerator();
    const image = createTensor([2, 3, 32, 32], new Float32Array(2 * 3 * 32 * 32).fill(0.25));
    const latents = await vae.encode(image, { generator });
    expect(latents.dims).toEqual([2, 4, 16, 16]);
    expect(generator.drawn).toBe(2 * 4 * 16 * 16);
  });

  it('encodes a larger image in tiles, blending mean and σ before sampling', async () => {
    const image = createTensor([1, 3, 48, 80], Float32Array.from({ length: 3 * 48 * 80 }, (_, i) => Math.cos(i / 90)));
    const generator = new CountingGenerator();
    const latents = await vae.encode(image, { generator });
    expect(latents.dims).toEqual([1, 4, 24, 40]);
    expect(generator.drawn).toBe(4 * 24 * 40);
    expect(latents.data.every(Number.isFinite)).toBe(true);
  });

  it('finds no posterior to expose in a graph that does not sample', () => {
    const decoder = fs.readFileSync(path.join(tinySd, 'onnx/vae_decoder/model.onnx'));
    expect(exposePosteriorOutputs(decoder, 'sample')).toBeUndefined();
    const encoder = fs.readFileSync(path.join(tinySd, 'onnx/vae_encoder/model.onnx'));
    expect(exposePosteriorOutputs(encoder, 'latent_sample')).toMatchObject({ mean: '/Slice_output_0', std: '/Exp_output_0' });
  });

  it('rejects bad inputs before any compute', async () => {
    await expect(vae.decode(createTensor([1, 3, 16, 16], new Float32Array(3 * 256)))).rejects.toThrow(InvalidArgumentError);
    await expect(vae.encode(createTensor([1, 3, 31, 32], new Float32Array(3 * 31 * 32)))).rejects.toThrow(/multiple of the VAE scale factor 2/);
    await expect(OnnxVae.fromPretrained(path.join(tinySd, 'onnx'), { tiling: { tileSize: 33 } })).rejects.toThrow(/tiling.tileSize/);
  });

  it('refuses to run after dispose', async () => {
    const own = await OnnxVae.fromPretrained(path.join(tinySd, 'onnx/vae_decoder'));
    await own.dispose();
    await own.dispose();
    expect(own.disposed).toBe(true);
    await expect(own.decode(createTensor([1, 4, 16, 16], new Float32Array(1024)))).rejects.toThrow(StateError);
    await expect(own.encode(createTensor([1, 3, 32, 32], new Float32Array(3 * 1024)))).rejects.toThrow(StateError);
  });

  it('loads through the registry plugin for the vae_decoder slot', async () => {
    const local = register(register(new PluginRegistry()));
    const entry = { slot: 'vae_decoder', library: 'diffusers', className: 'OnnxRuntimeModel' };
    expect(local.resolve('vae', entry)).toBe(onnxVaePlugin);
    expect(onnxVaePlugin.supports({ ...entry, slot: 'unet' })).toEqual({ reason: expect.stringContaining("not 'unet'") });
    const viaPlugin = (await local.create('vae', { modelPath: path.join(tinySd, 'onnx'), componentPath: path.join(tinySd, 'onnx/vae_decoder'), entry })) as OnnxVae;
    expect(viaPlugin.scaleFactor).toBe(2);
    await viaPlugin.dispose();
  });
});

const modelTiny = path.resolve(__dirname, '../../model-tiny/model');
(fs.existsSync(path.join(modelTiny, 'vae_decoder/model.onnx')) ? describe : describe.skip)('OnnxVae on latentkit-tiny (fixed 64×64 export)', () => {
  let vae: OnnxVae;
  beforeAll(async () => {
    vae = await OnnxVae.fromPretrained(modelTiny, { sessionOptions: { threads: 1 } });
  });
  afterAll(() => vae?.dispose());

  /** A picture in the model's palette: a yellow disc and a red square on blue, in [-1, 1]. */
  function picture(height: number, width: number): ReturnType<typeof createTensor<Float32Array>> {
    const data = new Float32Array(3 * height * width);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const disc = (x - width / 3) ** 2 + (y - height / 2) ** 2 < (Math.min(width, height) / 4) ** 2;
        const square = x > (2 * width) / 3 && x < (2 * width) / 3 + 20 && y > height / 4 && y < height / 4 + 20;
        const rgb = (disc ? [245, 220, 30] : square ? [220, 30, 30] : [30, 60, 220]).map((v) => v / 255);
        for (let c = 0; c < 3; c++) data[(c * height + y) * width + x] = 2 * rgb[c]! - 1;
      }
    }
    return createTensor([1, 3, height, width], data);
  }

  it('reads the fixed size from the graphs, samples latent_parameters with the generator, and tiles at that size', async () => {
    expect(vae.fixedImageSize).toEqual([64, 64]);
    expect(vae.scaleFactor).toBe(4);
    // The encoder opens on demand: its output kind is known from the first encode on.
    expect(vae.canEncode).toBe(true);
    expect(vae.encoderLoaded).toBe(false);
    expect(vae.encoderSampling).toBeUndefined();
    await vae.encode(createTensor([1, 3, 64, 64], new Float32Array(3 * 64 * 64)));
    expect(vae.encoderLoaded).toBe(true);
    expect(vae.encoderSampling).toBe('latent_parameters');
    expect(vae.tiling).toEqual({ tileSize: 64, overlap: 16 });
  });

  // Round trip through tiled encode and decode at 160×96 against the same round trip's error at
  // the native 64×64: tiling may cost a little at the seams, not a visible amount (at most 3
  // levels of 255 more on average, and under 8).
  it('round-trips an image larger than the export in tiles, nearly as well as at the native size', async () => {
    const meanAbsoluteError = async (image: ReturnType<typeof picture>) => {
      const decoded = await vae.decode(await vae.encode(image));
      expect(decoded.dims).toEqual(image.dims);
      let sum = 0;
      for (let i = 0; i < image.data.length; i++) sum += Math.abs(Math.max(-1, Math.min(1, decoded.data[i]!)) - image.data[i]!);
      return (sum / image.data.length) * 127.5;
    };
    const native = await meanAbsoluteError(picture(64, 64));
    const tiled = await meanAbsoluteError(picture(96, 160));
    expect(tiled).toBeLessThan(native + 3);
    expect(tiled).toBeLessThan(8);
  });

  it('refuses sizes the export cannot run, before running', async () => {
    await expect(vae.decode(createTensor([1, 4, 8, 8], new Float32Array(256)))).rejects.toThrow(
      /latents must be an image of 64×64 pixels, or larger with tiling on \(this export has fixed spatial axes\), got "32×32"/,
    );
    const untiled = await OnnxVae.fromPretrained(modelTiny, { tiling: false, encoder: false });
    try {
      await expect(untiled.decode(createTensor([1, 4, 16, 32], new Float32Array(4 * 512)))).rejects.toThrow(InvalidArgumentError);
    } finally {
      await untiled.dispose();
    }
    await expect(OnnxVae.fromPretrained(modelTiny, { tiling: { tileSize: 128 } })).rejects.toThrow(/tiling.tileSize must be 64/);
  });
});
