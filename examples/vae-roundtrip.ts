/**
 * Question 3: how is a VAE trained to compress rather than copy?
 *
 * Encodes images with the model's VAE alone (`@latentkit/vae`), decodes them again, and prints
 * the compression ratio (numbers in the image ÷ numbers in the latent), the reconstruction error
 * of the posterior mean and of a posterior sample (mean + σ·ε, as in training), and the latents'
 * statistics once multiplied by the `scaling_factor`. Saves input | reconstruction | the four
 * latent channels (grey: −3 … +3) for each image.
 *
 *   pnpm --filter @latentkit/examples exec tsx vae-roundtrip.ts [--image photo.png]
 */
import * as path from 'node:path';
import { TorchGenerator, type Tensor } from '@latentkit/core';
import { imageToTensor, tensorToImages } from '@latentkit/pipeline';
import type { PaletteColour, ShapeName } from '@latentkit/testing';
import { OnnxVae } from '@latentkit/vae';
import { displayPath, formatTable, parseFlags, printer, processIo, runIfScript, type ExampleIo } from './lib/example-cli';
import { loadInputImage } from './lib/image-files';
import { psnr, type Rgb8Image } from './lib/images';
import { saveLabelledGrid, type GridRow } from './lib/labelled-grid';
import { channelStatistics } from './lib/latent-distribution';

const FLAGS = {
  image: { type: 'string', default: '', help: 'an image file to round-trip instead of the three rendered shapes' },
  seed: { type: 'number', default: 0, help: 'seed of the posterior sample' },
} as const;

const SHAPES: readonly { shape: ShapeName; foreground: PaletteColour; background: PaletteColour }[] = [
  { shape: 'circle', foreground: 'red', background: 'blue' },
  { shape: 'square', foreground: 'yellow', background: 'purple' },
  { shape: 'triangle', foreground: 'white', background: 'green' },
];

/** Each latent channel as a grey image (−3 → black, +3 → white), enlarged to `side` by repetition. */
function latentChannelImages(latents: Tensor<Float32Array>, scalingFactor: number, side: number): Rgb8Image[] {
  const [, channels = 0, height = 0, width = 0] = latents.dims;
  const factor = side / height;
  const out: Rgb8Image[] = [];
  for (let c = 0; c < channels; c++) {
    const data = new Uint8Array(side * side * 3);
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        const value = latents.data[(c * height + Math.floor(y / factor)) * width + Math.floor(x / factor)]! * scalingFactor;
        data.fill(Math.round(Math.min(255, Math.max(0, ((value + 3) / 6) * 255))), (y * side + x) * 3, (y * side + x) * 3 + 3);
      }
    }
    out.push({ width: side, height: side, channels: 3, data });
  }
  return out;
}

/**
 * Round-trips the images through the VAE and prints what it measured.
 *
 * @example
 * ```ts
 * await main(['--image', 'photo.png']);
 * ```
 */
export async function main(argv: readonly string[], io: ExampleIo = processIo): Promise<void> {
  const print = printer(io);
  const { model, outDir, values } = parseFlags(argv, FLAGS);
  const vae = await OnnxVae.fromPretrained(model, { tiling: false });
  try {
    const side = (vae.sampleSize ?? 64) as number;
    const inputs = values.image ? [await loadInputImage(String(values.image), side)] : await Promise.all(SHAPES.map((s) => loadInputImage('', side, s)));
    const labels = values.image ? [path.basename(String(values.image))] : SHAPES.map((s) => `${s.foreground} ${s.shape} on ${s.background}`);
    const generator = new TorchGenerator(Number(values.seed));
    const rows = [['image', 'PSNR (mean)', 'PSNR (sample)', 'max error', 'posterior σ']];
    const strips: GridRow[] = [];
    let latentDims: readonly number[] = [];
    const allLatents: Tensor<Float32Array>[] = [];
    for (const [i, input] of inputs.entries()) {
      const pixels = imageToTensor(input);
      const mean = await vae.encode(pixels); // no generator: the posterior mean
      const sample = await vae.encode(pixels, { generator }); // mean + σ·ε, what the decoder saw in training
      latentDims = mean.dims;
      allLatents.push(mean);
      const fromMean = tensorToImages(await vae.decode(mean), 'uint8')[0]!;
      const fromSample = tensorToImages(await vae.decode(sample), 'uint8')[0]!;
      let maxError = 0;
      for (let p = 0; p < input.data.length; p++) maxError = Math.max(maxError, Math.abs(input.data[p]! - fromMean.data[p]!));
      // σ·ε = sample − mean with ε ~ N(0, 1): its root mean square estimates the posterior's σ.
      let squared = 0;
      for (let p = 0; p < mean.data.length; p++) squared += (sample.data[p]! - mean.data[p]!) ** 2;
      const sigma = Math.sqrt(squared / mean.data.length) * vae.scalingFactor;
      rows.push([labels[i]!, `${psnr(input, fromMean).toFixed(2)} dB`, `${psnr(input, fromSample).toFixed(2)} dB`, `${maxError} / 255`, sigma.toFixed(4)]);
      strips.push({ label: labels[i]!, images: [input, fromMean, ...latentChannelImages(mean, vae.scalingFactor, side)] });
    }
    const imageNumbers = side * side * 3;
    const latentNumbers = latentDims.slice(1).reduce((a, b) => a * b, 1);
    print(`VAE of ${displayPath(model)}: scale factor ${vae.scaleFactor}, ${vae.latentChannels} latent channels, scaling_factor ${vae.scalingFactor}`);
    print(`compression: ${side}×${side}×3 = ${imageNumbers.toLocaleString('en-US')} numbers → ${latentDims.slice(1).join('×')} = ${latentNumbers.toLocaleString('en-US')} numbers: ratio ${(imageNumbers / latentNumbers).toFixed(0)}×`);
    print(`(Stable Diffusion 1.x: 512×512×3 = 786,432 → 4×64×64 = 16,384: ratio 48×, scale factor 8)`);
    print();
    print(formatTable(rows, [1, 2, 3, 4]));
    print('posterior σ: root mean square of (sample − mean) × scaling_factor, in the UNet\'s latent units');
    print();
    const stats = channelStatistics({ dims: [allLatents.length, ...latentDims.slice(1)], data: concat(allLatents) });
    print(
      `latents × scaling_factor: per-channel mean [${stats.mean.map((m) => (m * vae.scalingFactor).toFixed(2)).join(', ')}], ` +
        `std [${stats.std.map((s) => (s * vae.scalingFactor).toFixed(2)).join(', ')}] (the UNet is trained on latents of unit variance)`,
    );
    const file = await saveLabelledGrid(path.join(outDir, 'vae-roundtrip.png'), strips, {
      columns: ['input', 'reconstruction', ...Array.from({ length: vae.latentChannels }, (_, c) => `latent channel ${c + 1}`)],
    });
    print(`images (input | reconstruction | latent channels 1–${vae.latentChannels}): ${displayPath(file)}`);
  } finally {
    await vae.dispose();
  }
}

function concat(tensors: readonly Tensor<Float32Array>[]): Float32Array {
  const out = new Float32Array(tensors.reduce((n, t) => n + t.data.length, 0));
  let offset = 0;
  for (const t of tensors) {
    out.set(t.data, offset);
    offset += t.data.length;
  }
  return out;
}

runIfScript(module, main);
