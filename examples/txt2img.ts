/**
 * Text to image with the embedded model: one call, a PNG, and what the shape analyser of
 * `@latentkit/testing` reads in each image.
 *
 *   pnpm --filter @latentkit/examples exec tsx txt2img.ts --prompt "a yellow triangle on a purple background"
 */
import * as path from 'node:path';
import { StableDiffusionPipeline } from '@latentkit/pipeline';
import { analyseShapeImage } from '@latentkit/testing';
import { GENERATION_FLAGS, displayPath, generationSettings, parseFlags, printer, processIo, runIfScript, type ExampleIo } from './lib/example-cli';
import { saveLabelledGrid } from './lib/labelled-grid';

const FLAGS = {
  prompt: { type: 'string', default: 'a red circle on a blue background', help: 'the prompt' },
  images: { type: 'number', default: 4, help: 'images per prompt' },
  ...GENERATION_FLAGS,
  scheduler: { type: 'string', default: '', help: "a scheduler name such as 'euler' (default: the model's)" },
} as const;

/**
 * Generates images from a prompt and prints what they show.
 *
 * @example
 * ```ts
 * await main(['--prompt', 'a green square on a white background', '--images', '2']);
 * ```
 */
export async function main(argv: readonly string[], io: ExampleIo = processIo): Promise<void> {
  const print = printer(io);
  const { model, outDir, values } = parseFlags(argv, FLAGS);
  const pipeline = await StableDiffusionPipeline.fromPretrained(model, values.scheduler ? { scheduler: String(values.scheduler) } : {});
  try {
    const prompt = String(values.prompt);
    let steps = 0;
    const started = performance.now();
    const { images } = await pipeline.textToImage({
      prompt,
      numImagesPerPrompt: Number(values.images),
      ...generationSettings(values),
      onStep: () => void steps++,
    });
    const milliseconds = performance.now() - started;
    print(`"${prompt}": ${images.length} image(s) of ${images[0]!.width}×${images[0]!.height}, ${steps} ${pipeline.scheduler.className} steps, guidance ${Number(values.guidance)}, seed ${Number(values.seed)} (${milliseconds.toFixed(0)} ms)`);
    for (const [i, image] of images.entries()) {
      const found = analyseShapeImage(image);
      print(`  image ${i + 1}: analyser reads ${found.shape ? `${found.foreground} ${found.shape} on ${found.background}` : `no shape (on ${found.background})`}`);
    }
    const file = await saveLabelledGrid(path.join(outDir, 'txt2img.png'), [{ label: `"${prompt}"`, images }], {
      title: `${steps} ${pipeline.scheduler.className} steps, guidance ${Number(values.guidance)}, seed ${Number(values.seed)}`,
      columns: images.map((_, i) => `image ${i + 1}`),
    });
    print(`saved: ${displayPath(file)}`);
  } finally {
    await pipeline.dispose();
  }
}

runIfScript(module, main);
