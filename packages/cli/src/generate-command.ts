/**
 * The generation commands: `generate` (text to image), `img2img`, `inpaint` and `denoise`. Each
 * parses its options, reads input images, loads the pipeline, runs it with a progress display
 * and Ctrl-C support, and writes PNGs. stdout gets the written paths, one per line, so that
 * scripts can capture them; everything else goes to stderr.
 */
import { randomInt } from 'node:crypto';
import type { PipelineLoadOptions, StableDiffusionPipeline } from '@latentkit/pipeline';
import { parseArguments, type ParsedArguments } from './argument-parser';
import type { CliIo } from './cli-io';
import { ExitCode, type ExitCodeValue } from './exit-codes';
import { GENERATION_OPTIONS, type GenerationCommand } from './generation-options';
import { numberedPath, readImageFile, writePngFile, type PixelImage } from './png-files';
import { createProgressReporter } from './progress-reporter';
import { recordAttentionMaps } from './attention-maps';
import { UsageError } from './usage-error';

type Values = ParsedArguments['values'];

/** The prompt: the positional arguments joined, so that unquoted words still work. */
function promptOf(command: GenerationCommand, positionals: readonly string[]): string {
  const prompt = positionals.join(' ').trim();
  if (prompt.length === 0) {
    throw new UsageError(`missing the prompt: latentkit ${command} "a red circle on a blue background"${command === 'generate' ? '' : ' --image in.png'}`, command);
  }
  return prompt;
}

function requireOption(command: GenerationCommand, values: Values, key: 'image' | 'mask'): string {
  const value = values[key];
  if (typeof value !== 'string' || value.length === 0) throw new UsageError(`--${key} <file> is required for ${command}`, command);
  return value;
}

/** Only the options the user gave, so that the pipeline's own defaults apply to the rest. */
function defined<T extends Record<string, unknown>>(object: T): Partial<T> {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function loadOptions(values: Values, signal: AbortSignal | undefined): PipelineLoadOptions {
  return defined({
    scheduler: values.scheduler as string | undefined,
    textEncoder: values.textEncoder as string | undefined,
    sessionOptions: values.threads === undefined ? undefined : { threads: values.threads as number },
    // Ctrl-C while a large model loads stops the load too, not only the denoising.
    signal,
  }) as PipelineLoadOptions;
}

async function inputImages(command: GenerationCommand, values: Values): Promise<{ image?: PixelImage; mask?: PixelImage }> {
  if (command === 'generate') return {};
  const size = defined({ width: values.width as number | undefined, height: values.height as number | undefined });
  const image = await readImageFile(requireOption(command, values, 'image'), '--image', size);
  if (command !== 'inpaint') return { image };
  // The mask takes the image's size, so that its pixels line up with the image's.
  const mask = await readImageFile(requireOption(command, values, 'mask'), '--mask', { width: image.width, height: image.height, grey: true });
  return { image, mask };
}

/**
 * Runs one generation command.
 *
 * @example
 * ```ts
 * const code = await generationCommand('generate', ['a red circle on a blue background', '--out', 'circle.png'], io);
 * ```
 */
export async function generationCommand(command: GenerationCommand, argv: readonly string[], io: CliIo): Promise<ExitCodeValue> {
  const { values, positionals } = parseArguments(argv, GENERATION_OPTIONS[command], command);
  if (command === 'denoise' && positionals.length > 0) {
    throw new UsageError(`denoise takes no prompt, got ${positionals.map((p) => `'${p}'`).join(' ')}: latentkit denoise --image noisy.png --strength 0.3`, command);
  }
  const prompt = command === 'denoise' ? undefined : promptOf(command, positionals);
  const out = (values.out as string | undefined) ?? 'out.png';
  const seed = (values.seed as number | undefined) ?? randomInt(2 ** 31);
  const { image, mask } = await inputImages(command, values);

  const started = performance.now();
  // Loaded here, not at the top, so that `inspect` and `--help` do not load onnxruntime.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { StableDiffusionPipeline: Pipeline } = require('@latentkit/pipeline') as typeof import('@latentkit/pipeline');
  const pipeline: StableDiffusionPipeline = await Pipeline.fromPretrained(values.model as string | undefined, loadOptions(values, io.signal));
  const loaded = performance.now();
  const progress = createProgressReporter(io.stderr, { quiet: values.quiet === true });
  try {
    const mapsFolder = values.attentionMaps as string | undefined;
    const attentionMaps = mapsFolder === undefined ? undefined : recordAttentionMaps(pipeline, mapsFolder, prompt!);
    const common = defined({
      numInferenceSteps: values.steps as number | undefined,
      seed,
      signal: io.signal,
      onStep: (report: { step: number; numSteps: number; timestep: number }) => progress.update(report.step, report.numSteps, report.timestep),
    });
    const prompted = defined({
      prompt,
      negativePrompt: values.negative as string | undefined,
      guidanceScale: values.guidance as number | undefined,
      numImagesPerPrompt: values.count as number | undefined,
    });
    const size = defined({ width: values.width as number | undefined, height: values.height as number | undefined });
    const strength = defined({ strength: values.strength as number | undefined });
    const result =
      command === 'generate' ? await pipeline.textToImage({ ...common, ...prompted, ...size, prompt: prompt! })
      : command === 'img2img' ? await pipeline.imageToImage({ ...common, ...prompted, ...strength, prompt: prompt!, image: image! })
      : command === 'inpaint' ? await pipeline.inpaint({ ...common, ...prompted, ...strength, prompt: prompt!, image: image!, mask: mask! })
      : await pipeline.denoise({ ...common, ...strength, image: image! });
    progress.stop();

    const images = result.images;
    const paths = images.map((_, i) => numberedPath(out, i, images.length));
    for (const [i, picture] of images.entries()) await writePngFile(paths[i]!, picture);
    const mapFiles = attentionMaps && images[0] ? await attentionMaps.write(images[0]) : [];
    if (mapFiles.length > 0 && values.quiet !== true) io.stderr.write(`wrote ${mapFiles.length} attention maps to ${mapsFolder}\n`);
    const finished = performance.now();
    for (const file of paths) io.stdout.write(`${file}\n`);
    if (values.quiet !== true) {
      const first = images[0];
      io.stderr.write(
        `wrote ${paths.length} image${paths.length === 1 ? '' : 's'}${first ? ` (${first.width}×${first.height})` : ''}, seed ${seed}: ` +
          `load ${((loaded - started) / 1000).toFixed(1)} s, generate ${((finished - loaded) / 1000).toFixed(1)} s\n`,
      );
    }
    return ExitCode.ok;
  } finally {
    progress.stop();
    await pipeline.dispose();
  }
}
