/**
 * Image to image (SDEdit, Meng et al. 2022): the input's latent is noised to the `strength` point
 * of the schedule and denoised towards a new prompt. Low strength keeps the picture; high
 * strength follows the prompt. Prints what the shape analyser reads at each strength.
 *
 *   pnpm --filter @latentkit/examples exec tsx img2img.ts [--image photo.png] [--prompt "…"]
 */
import * as path from 'node:path';
import { StableDiffusionPipeline } from '@latentkit/pipeline';
import { analyseShapeImage } from '@latentkit/testing';
import { GENERATION_FLAGS, displayPath, formatTable, generationSettings, parseFlags, printer, processIo, runIfScript, type ExampleIo } from './lib/example-cli';
import { loadInputImage } from './lib/image-files';
import { psnr, type Rgb8Image } from './lib/images';
import { saveLabelledGrid } from './lib/labelled-grid';

const FLAGS = {
  image: { type: 'string', default: '', help: 'the input image (default: a rendered red circle on blue)' },
  prompt: { type: 'string', default: 'a yellow square on a green background', help: 'where to take the image' },
  strengths: { type: 'string', default: '0.1,0.3,0.5,0.8', help: 'comma-separated strengths in (0, 1]' },
  ...GENERATION_FLAGS,
  steps: { type: 'number', default: 20, help: 'steps of the full schedule' },
} as const;

const reading = (image: Rgb8Image) => {
  const found = analyseShapeImage(image);
  return found.shape ? `${found.foreground} ${found.shape} on ${found.background}` : `no shape (on ${found.background})`;
};

/**
 * Runs image-to-image at several strengths.
 *
 * @example
 * ```ts
 * await main(['--strengths', '0.5']);
 * ```
 */
export async function main(argv: readonly string[], io: ExampleIo = processIo): Promise<void> {
  const print = printer(io);
  const { model, outDir, values } = parseFlags(argv, FLAGS);
  const pipeline = await StableDiffusionPipeline.fromPretrained(model);
  try {
    const input = await loadInputImage(String(values.image), pipeline.defaultImageSize);
    const prompt = String(values.prompt);
    const rows = [['strength', 'steps run', 'PSNR vs input', 'analyser reads']];
    rows.push(['input', '0', '∞', reading(input)]);
    const outputs: Rgb8Image[] = [input];
    const strengths = String(values.strengths).split(',').map(Number);
    for (const strength of strengths) {
      let steps = 0;
      const { images } = await pipeline.imageToImage({
        image: input,
        prompt,
        strength,
        ...generationSettings(values),
        onStep: () => void steps++,
      });
      outputs.push(images[0]!);
      rows.push([String(strength), String(steps), `${psnr(input, images[0]!).toFixed(2)} dB`, reading(images[0]!)]);
    }
    print(`prompt: "${prompt}"`);
    print(formatTable(rows, [1, 2]));
    const file = await saveLabelledGrid(path.join(outDir, 'img2img.png'), [{ label: `"${prompt}"`, images: outputs }], {
      columns: ['input', ...strengths.map((strength) => `strength ${strength}`)],
    });
    print(`saved (input | strengths ${strengths.join(',')}): ${displayPath(file)}`);
  } finally {
    await pipeline.dispose();
  }
}

runIfScript(module, main);
