/**
 * Question 4: can the text encoder be swapped, e.g. for a multilingual one, and what are the
 * restrictions?
 *
 * 1. Generates "a red circle on a blue background" in five languages with the model's
 *    multilingual encoder (trained against the frozen UNet), and in English with its CLIP-style
 *    encoder, from the same seed; the shape analyser reads each image.
 * 2. Puts an encoder of the wrong width (the third-party hashing encoder of
 *    `examples/encoder-plugin/`) in front of the UNet: the orchestrator refuses before computing
 *    anything and says why.
 * 3. Puts the same hashing encoder at the right width: the parts fit, the pipeline runs, but its
 *    embeddings are not in the space the UNet was trained on, so the prompt is not followed.
 *
 *   pnpm --filter @latentkit/examples exec tsx swap-text-encoder.ts [--steps 20]
 */
import * as path from 'node:path';
import { IncompatibleComponentsError, readModelFolder, type TextEncoder } from '@latentkit/core';
import { StableDiffusionPipeline } from '@latentkit/pipeline';
import { analyseShapeImage } from '@latentkit/testing';
import { createHashingTextEncoder } from '@latentkit-example/encoder-plugin-hashing';
import { GENERATION_FLAGS, displayPath, formatTable, generationSettings, parseFlags, printer, processIo, runIfScript, type ExampleIo } from './lib/example-cli';
import type { Rgb8Image } from './lib/images';
import { saveLabelledGrid } from './lib/labelled-grid';
import { parseShapePrompt } from './lib/latent-distribution';

/** The same request in the languages the embedded multilingual encoder was trained on (captions as in `tools/train-tiny/dataset.py`). */
export const PROMPTS: readonly { language: string; prompt: string }[] = [
  { language: 'en', prompt: 'a red circle on a blue background' },
  { language: 'fr', prompt: 'un cercle rouge sur fond bleu' },
  { language: 'es', prompt: 'un círculo rojo sobre fondo azul' },
  { language: 'de', prompt: 'ein roter Kreis auf blauem Hintergrund' },
  { language: 'zh', prompt: '蓝色背景上的红色圆形' },
];

/** English prompts for the right-width-wrong-space check (training combinations, not held out). */
const CHECK_PROMPTS: readonly string[] = [
  'a red circle on a blue background',
  'a green square on a white background',
  'a yellow triangle on a purple background',
  'a black circle on an orange background',
];

const reading = (image: Rgb8Image) => {
  const found = analyseShapeImage(image);
  return found.shape ? `${found.foreground} ${found.shape} on ${found.background}` : `no shape (on ${found.background})`;
};

const FLAGS = {
  encoder: { type: 'string', default: 'multilingual', help: 'the alternative text encoder slot (text_encoder_<name>)' },
  ...GENERATION_FLAGS,
  languages: { type: 'string', default: 'en,fr,es,de,zh', help: 'comma-separated languages to generate' },
} as const;

interface Generated {
  readonly encoder: string;
  readonly language: string;
  readonly prompt: string;
  readonly image: Rgb8Image;
}

/**
 * Runs the three experiments and prints what happened.
 *
 * @example
 * ```ts
 * await main(['--languages', 'en,de']);
 * ```
 */
export async function main(argv: readonly string[], io: ExampleIo = processIo): Promise<void> {
  const print = printer(io);
  const { model, outDir, values } = parseFlags(argv, FLAGS);
  const settings = generationSettings(values);
  const languages = String(values.languages).split(',');
  const encoderName = String(values.encoder);
  const folder = await readModelFolder(model);
  const hasAlternative = folder.components.has(`text_encoder_${encoderName}`);

  // --- 1. the model's own encoders ------------------------------------------------------------
  const generated: Generated[] = [];
  const clip = await StableDiffusionPipeline.fromPretrained(model);
  const width = clip.unet.crossAttentionDim;
  try {
    const english = await clip.textToImage({ prompt: PROMPTS[0]!.prompt, ...settings });
    generated.push({ encoder: clip.textEncoder!.name, language: 'en', prompt: PROMPTS[0]!.prompt, image: english.images[0]! });
    if (hasAlternative) {
      // The alternative encoder with the same UNet, VAE and scheduler instances.
      const alternative = await StableDiffusionPipeline.fromPretrained(model, {
        textEncoder: encoderName,
        components: { unet: clip.unet, vae: clip.vae },
      });
      try {
        for (const { language, prompt } of PROMPTS.filter((p) => languages.includes(p.language))) {
          const result = await alternative.textToImage({ prompt, ...settings });
          generated.push({ encoder: alternative.textEncoder!.name, language, prompt, image: result.images[0]! });
        }
      } finally {
        await alternative.textEncoder?.dispose?.();
      }
    }
    print(`UNet cross_attention_dim: ${width}; encoders: ${clip.textEncoder!.name} (${clip.textEncoder!.hiddenSize} wide)${hasAlternative ? `, text_encoder_${encoderName}` : ''}`);
    if (!hasAlternative) print(`(this model has no text_encoder_${encoderName} slot: only its default encoder is shown)`);
    print();
    print(
      formatTable([
        ['encoder', 'lang', 'prompt', 'analyser reads'],
        ...generated.map((g) => [g.encoder, g.language, g.prompt, reading(g.image)]),
      ]),
    );

    // --- 2. an encoder of the wrong width ---------------------------------------------------
    print();
    const wrongWidth = width === 64 ? 32 : 64;
    const narrow: TextEncoder = createHashingTextEncoder({ hiddenSize: wrongWidth, maxLength: 77 });
    print(`wrong width: the hashing encoder of examples/encoder-plugin at hidden size ${wrongWidth}:`);
    try {
      await StableDiffusionPipeline.fromPretrained(model, { components: { unet: clip.unet, vae: clip.vae, textEncoder: narrow } });
      print('  loaded (unexpected: the orchestrator should have refused it)');
    } catch (error) {
      if (!(error instanceof IncompatibleComponentsError)) throw error;
      print(`  ${error.name}: ${error.message}`);
    }

    // --- 3. the right width, the wrong space -------------------------------------------------
    print();
    const fitting = createHashingTextEncoder({ hiddenSize: width, maxLength: 77 });
    const hashed = new StableDiffusionPipeline({ unet: clip.unet, vae: clip.vae, scheduler: clip.scheduler, textEncoder: fitting });
    print(`right width, wrong space: the hashing encoder at hidden size ${width} loads and runs, but the UNet was never trained on its embeddings:`);
    const rows = [['prompt', `${clip.textEncoder!.name} → analyser reads`, `${fitting.name} → analyser reads`]];
    const followed = { trained: 0, hashing: 0 };
    for (const prompt of CHECK_PROMPTS) {
      const [trained, hashing] = [(await clip.textToImage({ prompt, ...settings })).images[0]!, (await hashed.textToImage({ prompt, ...settings })).images[0]!];
      if (prompt === CHECK_PROMPTS[0]) generated.push({ encoder: fitting.name, language: 'en', prompt, image: hashing });
      const asked = parseShapePrompt(prompt);
      const matches = (image: Rgb8Image) => {
        const found = analyseShapeImage(image);
        return asked !== undefined && found.shape === asked.shape && found.foreground === asked.foreground && found.background === asked.background;
      };
      followed.trained += Number(matches(trained));
      followed.hashing += Number(matches(hashing));
      rows.push([prompt, reading(trained), reading(hashing)]);
    }
    print(formatTable(rows).replace(/^/gm, '  '));
    print(`  prompt followed: ${clip.textEncoder!.name} ${followed.trained}/${CHECK_PROMPTS.length}, ${fitting.name} ${followed.hashing}/${CHECK_PROMPTS.length}`);

    const file = await saveLabelledGrid(path.join(outDir, 'swap-text-encoder.png'), [{ label: `seed ${settings.seed}`, images: generated.map((g) => g.image) }], {
      title: 'one prompt through each text encoder',
      columns: generated.map((g) => `${g.encoder} (${g.language})`),
    });
    print();
    print(`images (${generated.map((g) => `${g.encoder}/${g.language}`).join(' | ')}): ${displayPath(file)}`);
  } finally {
    await clip.dispose();
  }
}

runIfScript(module, main);
