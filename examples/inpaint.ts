/**
 * Inpainting: repaint the white part of a mask, keep the rest. latentkit-tiny's UNet is a plain
 * 4-channel one, so the pipeline pastes the known region back, re-noised to the current step,
 * after every step (the RePaint-style blending diffusers uses for non-inpainting UNets); a
 * 9-channel inpainting UNet would read the mask instead.
 *
 *   pnpm --filter @latentkit/examples exec tsx inpaint.ts [--prompt "a yellow circle on a blue background"]
 */
import * as path from 'node:path';
import { StableDiffusionPipeline } from '@latentkit/pipeline';
import { analyseShapeImage, renderShapeImage } from '@latentkit/testing';
import { GENERATION_FLAGS, displayPath, generationSettings, parseFlags, printer, processIo, runIfScript, type ExampleIo } from './lib/example-cli';
import { loadInputImage } from './lib/image-files';
import type { Rgb8Image } from './lib/images';
import { saveLabelledGrid } from './lib/labelled-grid';

const FLAGS = {
  image: { type: 'string', default: '', help: 'the input image (default: a rendered red circle on blue)' },
  prompt: { type: 'string', default: 'a yellow circle on a blue background', help: 'what to paint in the masked region' },
  ...GENERATION_FLAGS,
} as const;

/** Mean absolute difference per 8-bit sample over the pixels where `mask` is white (or black). */
function meanChange(a: Rgb8Image, b: Rgb8Image, mask: Rgb8Image, white: boolean): number {
  let total = 0;
  let count = 0;
  for (let p = 0; p < a.width * a.height; p++) {
    if (mask.data[p * 3]! >= 128 !== white) continue;
    for (let c = 0; c < 3; c++) total += Math.abs(a.data[p * 3 + c]! - b.data[p * 3 + c]!);
    count += 3;
  }
  return count ? total / count : 0;
}

/**
 * Repaints a centred square region of the image.
 *
 * @example
 * ```ts
 * await main(['--prompt', 'a green circle on a blue background']);
 * ```
 */
export async function main(argv: readonly string[], io: ExampleIo = processIo): Promise<void> {
  const print = printer(io);
  const { model, outDir, values } = parseFlags(argv, FLAGS);
  const pipeline = await StableDiffusionPipeline.fromPretrained(model);
  try {
    const side = pipeline.defaultImageSize;
    const image = await loadInputImage(String(values.image), side);
    // The mask: a white square over the middle of the image (the shape), black elsewhere.
    const mask = renderShapeImage({ shape: 'square', foreground: [255, 255, 255], background: [0, 0, 0], size: side * 0.625, width: side, height: side, supersampling: 1 });
    const { images } = await pipeline.inpaint({
      image,
      mask,
      prompt: String(values.prompt),
      ...generationSettings(values),
    });
    const result = images[0]!;
    const found = analyseShapeImage(result);
    print(`prompt: "${String(values.prompt)}", UNet in_channels ${pipeline.unet.inChannels} (${pipeline.unet.inChannels === 9 ? 'inpainting UNet: reads the mask' : 'plain UNet: known region blended back each step'})`);
    print(`mean change outside the mask: ${meanChange(image, result, mask, false).toFixed(1)} / 255 (kept, up to the VAE's round trip)`);
    print(`mean change inside the mask: ${meanChange(image, result, mask, true).toFixed(1)} / 255 (repainted)`);
    print(`analyser reads the result: ${found.shape ? `${found.foreground} ${found.shape} on ${found.background}` : `no shape (on ${found.background})`}`);
    const file = await saveLabelledGrid(path.join(outDir, 'inpaint.png'), [{ label: `"${String(values.prompt)}"`, images: [image, mask, result] }], {
      columns: ['image', 'mask (white: repaint)', 'result'],
    });
    print(`saved (image | mask | result): ${displayPath(file)}`);
  } finally {
    await pipeline.dispose();
  }
}

runIfScript(module, main);
