/**
 * Question 6: to only denoise a picture, which parts are needed?
 *
 * Adds Gaussian noise to an image, then cleans it with a pipeline assembled from the VAE, the
 * UNet and the scheduler alone: no text encoder is loaded for the denoising. The UNet still reads
 * text states through its cross-attention, so it gets the empty prompt's states — a constant
 * [1, 77, D] tensor, shipped as `unconditional_embedding.json` by models that support this; when
 * the folder lacks it, the text encoder is run once for "" and released before anything else.
 * Prints PSNR (against the clean image) before and after, for a few strengths.
 *
 *   pnpm --filter @latentkit/examples exec tsx denoise.ts [--noise 40] [--image photo.png]
 */
import * as path from 'node:path';
import { TorchGenerator, readModelFolder, type Tensor } from '@latentkit/core';
import { CLIPTextEncoder } from '@latentkit/encoder-clip';
import { StableDiffusionPipeline, imageToTensor, readUnconditionalEmbedding, tensorToImages } from '@latentkit/pipeline';
import { schedulerFromConfig } from '@latentkit/schedulers';
import { OnnxUNet } from '@latentkit/unet';
import { OnnxVae } from '@latentkit/vae';
import { displayPath, formatTable, parseFlags, printer, processIo, runIfScript, type ExampleIo } from './lib/example-cli';
import { loadInputImage } from './lib/image-files';
import { addGaussianNoise, psnr, type Rgb8Image } from './lib/images';
import { saveLabelledGrid, type GridRow } from './lib/labelled-grid';

const FLAGS = {
  image: { type: 'string', default: '', help: 'an image file to denoise (default: a rendered red circle on blue)' },
  noise: { type: 'string', default: '20,40,80,120', help: 'comma-separated σ of the added Gaussian noise, in 8-bit units' },
  strengths: { type: 'string', default: '0.1,0.2,0.3,0.5', help: 'comma-separated denoising strengths' },
  steps: { type: 'number', default: 20, help: 'steps of the full schedule (strength × steps are run)' },
  seed: { type: 'number', default: 0, help: 'seed of the noise and of the pipeline' },
} as const;

/** The empty prompt's states: shipped with the model, or computed once by its text encoder alone (then released). */
async function emptyPromptStates(model: string): Promise<{ states: Tensor<Float32Array>; source: string }> {
  const shipped = await readUnconditionalEmbedding(model);
  if (shipped) return { states: shipped, source: 'unconditional_embedding.json (shipped with the model)' };
  const encoder = await CLIPTextEncoder.fromPretrained(model);
  try {
    const { hiddenStates } = await encoder.encode(['']);
    return { states: hiddenStates, source: 'the text encoder, run once for "" and released (the folder ships no unconditional_embedding.json)' };
  } finally {
    await encoder.dispose();
  }
}

/**
 * Noises an image and denoises it with VAE + UNet + scheduler, printing PSNR before and after.
 *
 * @example
 * ```ts
 * await main(['--noise', '25', '--strengths', '0.3']);
 * ```
 */
export async function main(argv: readonly string[], io: ExampleIo = processIo): Promise<void> {
  const print = printer(io);
  const { model, outDir, values } = parseFlags(argv, FLAGS);
  const strengths = String(values.strengths).split(',').map(Number);
  const noiseLevels = String(values.noise).split(',').map(Number);
  const { states, source } = await emptyPromptStates(model);

  const folder = await readModelFolder(model);
  const [unet, vae] = await Promise.all([OnnxUNet.fromPretrained(model), OnnxVae.fromPretrained(model, { tiling: false })]);
  const scheduler = schedulerFromConfig(folder.components.get('scheduler')!.config!);
  // Three parts and a constant: no text encoder in this pipeline.
  const pipeline = new StableDiffusionPipeline({ unet, vae, scheduler, unconditionalEmbedding: states });
  try {
    const side = pipeline.defaultImageSize;
    const clean = await loadInputImage(String(values.image), side);
    const seed = Number(values.seed);
    print(`parts loaded: UNet, VAE, ${scheduler.className}; text encoder: none (pipeline.textEncoder is ${String(pipeline.textEncoder)})`);
    print(`empty-prompt states ${JSON.stringify(states.dims)} from ${source}`);
    print(`image ${side}×${side}, Gaussian noise σ (in 8-bit units) = ${noiseLevels.join(', ')}; PSNR against the clean image`);
    print();

    const header = ['noise σ', 'noisy input', 'VAE encode → decode', ...strengths.map((s) => `UNet, strength ${s}`), 'best', 'UNet gain over VAE alone'];
    const rows = [header];
    const grid: GridRow[] = [];
    const helped: number[] = [];
    for (const sigma of noiseLevels) {
      const noisy = addGaussianNoise(clean, sigma, (count) => new TorchGenerator(seed).randn([count]));
      // The baseline every UNet strength must beat: the VAE alone. Its decoder can only produce images
      // like its training data, so a round trip already removes some of the noise.
      const roundTrip = tensorToImages(await vae.decode(await vae.encode(imageToTensor(noisy))), 'uint8')[0]!;
      const results: { label: string; psnr: number; image: Rgb8Image }[] = [
        { label: 'noisy input', psnr: psnr(clean, noisy), image: noisy },
        { label: 'VAE alone', psnr: psnr(clean, roundTrip), image: roundTrip },
      ];
      for (const strength of strengths) {
        const { images } = await pipeline.denoise({ image: noisy, strength, numInferenceSteps: Number(values.steps), seed });
        results.push({ label: `strength ${strength}`, psnr: psnr(clean, images[0]!), image: images[0]! });
      }
      const best = results.reduce((a, b) => (b.psnr > a.psnr ? b : a));
      const bestUnet = results.slice(2).reduce((a, b) => (b.psnr > a.psnr ? b : a));
      const gain = bestUnet.psnr - results[1]!.psnr;
      if (gain > 0) helped.push(sigma);
      rows.push([String(sigma), ...results.map((r) => `${r.psnr.toFixed(2)} dB`), best.label, `${gain >= 0 ? '+' : ''}${gain.toFixed(2)} dB (${bestUnet.label})`]);
      grid.push({ label: `σ = ${sigma}`, images: [clean, ...results.map((r) => r.image)] });
    }
    print(formatTable(rows, header.map((_, i) => i).slice(1, -2)));
    print();
    print(
      helped.length
        ? `the UNet beats the VAE alone at noise σ = ${helped.join(', ')}; below that the VAE's round trip already removes what the UNet would`
        : 'the UNet beats the VAE alone at none of these noise levels: the VAE round trip already removes the noise',
    );
    const file = await saveLabelledGrid(path.join(outDir, 'denoise.png'), grid, {
      title: 'denoising without a text encoder: VAE alone vs VAE + UNet + scheduler',
      columns: ['clean', 'noisy', 'VAE alone', ...strengths.map((s) => `UNet, strength ${s}`)],
      scale: 2,
    });
    print(`images (rows: noise levels; columns: clean | noisy | VAE alone | ${strengths.map((s) => `strength ${s}`).join(' | ')}): ${displayPath(file)}`);
  } finally {
    await pipeline.dispose();
  }
}

runIfScript(module, main);
