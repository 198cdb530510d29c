/**
 * The generation commands: `generate` (text to image), `img2img`, `inpaint` and `denoise`. Each
 * parses its options, checks the output paths and reads input images before loading anything,
 * loads the pipeline with the model's recommended defaults, fits input images to the run's size,
 * runs with a progress display and Ctrl-C support, and writes the images in the format `--out`
 * names. stdout gets the written paths, one per line, so that scripts can capture them;
 * everything else goes to stderr.
 */
import { randomInt } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { AbortError, throwIfAborted } from '@latentkit/core';
import type { PipelineLoadOptions, StableDiffusionPipeline } from '@latentkit/pipeline';
import { parseArguments, type ParsedArguments } from './argument-parser';
import type { CliIo } from './cli-io';
import { ExitCode, type ExitCodeValue } from './exit-codes';
import { GENERATION_OPTIONS, type GenerationCommand } from './generation-options';
import { checkOutputPaths, writeImageFile } from './image-output';
import { RESIZE_MODES, resizeImage, type ResizeMode } from './input-resize';
import { readModelDefaults, type ModelDefaults } from './model-defaults';
import { numberedPath, readImageFile, type PixelImage } from './png-files';
import { createProgressReporter } from './progress-reporter';
import { droppedWords, promptWarnings } from './prompt-warnings';
import { recordAttentionMaps } from './attention-maps';
import { UsageError } from './usage-error';

type Values = ParsedArguments['values'];
type Pipeline = typeof import('@latentkit/pipeline');

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

function resizeMode(command: GenerationCommand, values: Values): ResizeMode {
  const mode = (values.resize as string | undefined) ?? 'crop';
  if (!(RESIZE_MODES as readonly string[]).includes(mode)) {
    throw new UsageError(`--resize must be ${RESIZE_MODES.join(', ')}, got '${mode}'`, command);
  }
  return mode as ResizeMode;
}

/** Input images at their own size (resized once the model's size is known). */
async function inputImages(command: GenerationCommand, values: Values): Promise<{ image?: PixelImage; mask?: PixelImage }> {
  if (command === 'generate') return {};
  const image = await readImageFile(requireOption(command, values, 'image'), '--image');
  if (command !== 'inpaint') return { image };
  const mask = await readImageFile(requireOption(command, values, 'mask'), '--mask', { grey: true });
  return { image, mask };
}

/** Whether the model can run `width`×`height` as it is (its fixed export size, or its size multiple). */
function runsAtSize(pipeline: StableDiffusionPipeline, width: number, height: number): boolean {
  const scale = pipeline.vae.scaleFactor;
  const fixed = (pipeline.unet as { fixedSampleSize?: readonly [number, number] }).fixedSampleSize;
  if (fixed) return width === fixed[1] * scale && height === fixed[0] * scale;
  const multiple = ((pipeline.unet as { sampleMultiple?: number }).sampleMultiple ?? 1) * scale;
  return width % multiple === 0 && height % multiple === 0 && width >= multiple && height >= multiple;
}

/**
 * The size the input image is brought to: `--width`/`--height` when given, else the image's own
 * when the model runs it, else the model's size; the mask follows the image.
 */
async function fitInputs(
  pipeline: StableDiffusionPipeline,
  inputs: { image?: PixelImage; mask?: PixelImage },
  values: Values,
  mode: ResizeMode,
  io: CliIo,
): Promise<{ image?: PixelImage; mask?: PixelImage }> {
  const { image, mask } = inputs;
  if (!image) return inputs;
  const fixed = (pipeline.unet as { fixedSampleSize?: readonly [number, number] }).fixedSampleSize;
  const scale = pipeline.vae.scaleFactor;
  const modelSize = fixed ? { width: fixed[1] * scale, height: fixed[0] * scale } : { width: pipeline.defaultImageSize, height: pipeline.defaultImageSize };
  const requested = values.width !== undefined || values.height !== undefined;
  const target = requested
    ? { width: (values.width as number | undefined) ?? modelSize.width, height: (values.height as number | undefined) ?? modelSize.height }
    : runsAtSize(pipeline, image.width, image.height) ? { width: image.width, height: image.height } : modelSize;
  const fitted = await resizeImage(image, target.width, target.height, mode);
  if (fitted !== image && values.quiet !== true) {
    io.stderr.write(
      `note: --image is ${image.width}×${image.height}; resized to ${target.width}×${target.height} (${requested ? 'the requested size' : "the model's size"}) ` +
        `with --resize ${mode} (crop, fit or stretch)\n`,
    );
  }
  const fittedMask = mask ? await resizeImage(mask, target.width, target.height, mode) : undefined;
  // A mask of the image's size takes the image's transform silently: its pixels still line up.
  if (mask && fittedMask !== mask && (mask.width !== image.width || mask.height !== image.height) && values.quiet !== true) {
    io.stderr.write(`note: --mask is ${mask.width}×${mask.height}; resized to ${target.width}×${target.height} with --resize ${mode}\n`);
  }
  return { image: fitted, ...(fittedMask ? { mask: fittedMask } : {}) };
}

/**
 * "leading" spacing with very few steps starts far from pure noise (1 step of SD 1.5's DDIM runs
 * at t = 1 of 1000), so the image stays noise. Warn, naming the step count that starts in the
 * noisier half; the schedule itself stays diffusers' so that a seed gives diffusers' image.
 */
function warnFewSteps(pipeline: Pipeline, scheduler: StableDiffusionPipeline['scheduler'], steps: number, io: CliIo): void {
  const probe = pipeline.cloneScheduler(scheduler);
  if (!probe) return;
  try {
    const numTrain = Number(probe.config.num_train_timesteps ?? 1000);
    const start = (n: number) => {
      probe.setTimesteps(n);
      return probe.timesteps[0]!;
    };
    const first = start(steps);
    if (first >= numTrain / 2) return;
    let enough = steps + 1;
    while (enough < 50 && start(enough) < numTrain / 2) enough++;
    const spacing = probe.config.timestep_spacing;
    io.stderr.write(
      `latentkit: warning: with --steps ${steps}, ${probe.className}${typeof spacing === 'string' ? ` ('${spacing}' timestep spacing)` : ''} starts denoising at t=${Math.round(first)} of ${numTrain}, ` +
        `so the image will stay mostly noise: pass --steps ${enough} or more${spacing === 'leading' ? ", or use a scheduler config with \"timestep_spacing\": \"trailing\" (its first step is t=" + (numTrain - 1) + ')' : ''}\n`,
    );
  } catch {
    // the run itself will report a schedule that cannot be built
  } finally {
    probe.dispose?.();
  }
}

/** Writes every image, unless Ctrl-C came first; an abort during the writes removes what was written. */
async function writeImages(paths: readonly string[], images: readonly PixelImage[], signal: AbortSignal | undefined): Promise<void> {
  const written: string[] = [];
  try {
    for (const [i, picture] of images.entries()) {
      throwIfAborted(signal);
      await writeImageFile(paths[i]!, picture);
      written.push(paths[i]!);
    }
    throwIfAborted(signal);
  } catch (error) {
    if (AbortError.isInstance(error)) await Promise.allSettled(written.map((file) => fs.rm(file, { force: true })));
    throw error;
  }
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
  const mode = resizeMode(command, values);
  if (values.longPrompts !== undefined && values.longPrompts !== 'truncate' && values.longPrompts !== 'chunk') {
    throw new UsageError(`--long-prompts must be truncate or chunk, got '${String(values.longPrompts)}'`, command);
  }
  const count = command === 'denoise' ? 1 : ((values.count as number | undefined) ?? 1);
  const paths = Array.from({ length: count }, (_, i) => numberedPath(out, i, count));
  // Before any compute: a bad --out fails now, not after minutes of denoising.
  await checkOutputPaths(paths);
  const inputs = await inputImages(command, values);

  const started = performance.now();
  // Loaded here, not at the top, so that `inspect` and `--help` do not load onnxruntime.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pipelineModule = require('@latentkit/pipeline') as Pipeline;
  const modelFolder = (values.model as string | undefined) ?? pipelineModule.defaultModelPath();
  const defaults: ModelDefaults = await readModelDefaults(modelFolder);
  const scheduler = (values.scheduler as string | undefined) ?? defaults.scheduler;
  const loadOptions = defined({
    scheduler,
    textEncoder: values.textEncoder as string | undefined,
    textEncoderOptions: values.longPrompts === 'chunk' ? { longPrompts: 'chunk' } : undefined,
    sessionOptions: values.threads === undefined ? undefined : { threads: values.threads as number },
    // One call per run: the text encoder is not needed once the prompt is encoded.
    releaseTextEncoder: values.keepTextEncoder !== true,
    // Ctrl-C while a large model loads stops the load too, not only the denoising.
    signal: io.signal,
  }) as PipelineLoadOptions;
  const pipeline: StableDiffusionPipeline = await pipelineModule.StableDiffusionPipeline.fromPretrained(modelFolder, loadOptions);
  const loaded = performance.now();
  const progress = createProgressReporter(io.stderr, { quiet: values.quiet === true });
  try {
    const { image, mask } = await fitInputs(pipeline, inputs, values, mode, io);
    const steps = (values.steps as number | undefined) ?? defaults.numInferenceSteps;
    const chunking = values.longPrompts === 'chunk';
    const fixedTextLength = (pipeline.unet as { fixedSequenceLength?: number }).fixedSequenceLength;
    if (chunking && (pipeline.textEncoder?.name !== 'clip' || fixedTextLength !== undefined)) {
      throw new UsageError(
        pipeline.textEncoder?.name !== 'clip'
          ? `--long-prompts chunk needs the CLIP text encoder, got '${pipeline.textEncoder?.name ?? 'none'}'`
          : `--long-prompts chunk needs a UNet with a dynamic text axis, but this export takes exactly ${fixedTextLength} text states: shorten the prompt`,
        command,
      );
    }
    const tokenizer = pipeline.textEncoder?.tokenizer;
    if (tokenizer) {
      // Chunking is offered where it can run: the CLIP encoder and a UNet that takes any text length.
      const canChunk = pipeline.textEncoder?.name === 'clip' && fixedTextLength === undefined;
      for (const [label, text] of [['prompt', prompt], ['negative prompt', values.negative as string | undefined]] as const) {
        if (!text) continue;
        const dropped = droppedWords(tokenizer, text);
        const lines = promptWarnings(label, chunking ? { ...dropped, cut: [] } : dropped, { offerChunking: canChunk });
        for (const line of lines) io.stderr.write(`latentkit: warning: ${line}\n`);
      }
    }
    const fromNoise = command === 'generate' || (command === 'inpaint' && (values.strength === undefined || values.strength === 1));
    if (fromNoise && steps !== undefined) warnFewSteps(pipelineModule, pipeline.scheduler, steps, io);
    const mapsFolder = values.attentionMaps as string | undefined;
    const attentionMaps = mapsFolder === undefined ? undefined : recordAttentionMaps(pipeline, mapsFolder, prompt!);
    const common = defined({
      numInferenceSteps: steps,
      seed,
      signal: io.signal,
      onStep: (report: { step: number; numSteps: number; timestep: number }) => progress.update(report.step, report.numSteps, report.timestep),
    });
    const prompted = defined({
      prompt,
      negativePrompt: values.negative as string | undefined,
      guidanceScale: (values.guidance as number | undefined) ?? defaults.guidanceScale,
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
    await writeImages(paths, images, io.signal);
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
