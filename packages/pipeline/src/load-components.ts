/**
 * Assembling a pipeline's components from a diffusers-layout model folder through the plugin
 * registry: each `model_index.json` slot goes to the plugin that supports its `[library, class]`,
 * every ONNX component gets the same session options, and the parts are checked against each
 * other from their metadata before anything runs. The plugins come from the installed plugin
 * packages (`discoverPlugins`): this file names none of them, so a third-party plugin loads
 * exactly as the first-party ones do.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import {
  InvalidArgumentError,
  ModelLoadError,
  createTensor,
  discoverPlugins,
  exists,
  readJsonObject,
  readModelFolder,
  registry as defaultRegistry,
  throwIfAborted,
  type FolderComponent,
  type ModelFolder,
  type PluginRegistry,
  type Scheduler,
  type SessionOptions,
  type Tensor,
  type TextEncoder,
  type UNet,
  type Vae,
} from '@latentkit/core';
import type { VaeTilingOptions } from '@latentkit/vae';
import { componentsToCheck } from '@latentkit/onnx';
import { assertCompatible } from './compatibility';
import { LoadRecorder } from './load-report';
import { ReopeningTextEncoder } from './reopening-text-encoder';
import { optionalBoolean, optionalSignal } from './validate-inputs';
import type { GuidanceMode } from './guidance';
import { chooseScheduler, type SchedulerChoice } from './scheduler-choice';
import type { StableDiffusionComponents, StableDiffusionSettings } from './pipeline-options';

/** Options of `StableDiffusionPipeline.fromPretrained`. */
export interface PipelineLoadOptions {
  /** Threads, execution provider and graph optimisation for every ONNX session of the pipeline. */
  sessionOptions?: SessionOptions;
  /**
   * Who runs the UNet's attention: `'native'` (`@latentkit/native`'s fused kernel between
   * onnxruntime segments; the default where the addon loads) or `'onnxruntime'` (the whole graph
   * in one session; the default with `LATENTKIT_NATIVE=0`). See `@latentkit/unet`.
   */
  attention?: 'native' | 'onnxruntime';
  /** Where the UNet's partitioned graph is cached (default `LATENTKIT_CACHE_DIR`, else `~/.cache/latentkit`). */
  cacheDir?: string;
  /** A scheduler, or a name (`'DDIMScheduler'`, `'euler'`, …) configured from the model's scheduler config. */
  scheduler?: SchedulerChoice;
  /**
   * Which text encoder to load: the default slot `text_encoder` (`undefined` or `'default'`),
   * `'<name>'` for the `text_encoder_<name>` + `tokenizer_<name>` slots, or `false` for none
   * (then only `denoise` runs, on a shipped `unconditional_embedding.json`).
   */
  textEncoder?: string | false;
  /**
   * Options for the text encoder's plugin, beside `sessionOptions` (e.g. `{ longPrompts: 'chunk' }`
   * for `CLIPTextEncoder`: prompts past 77 tokens are encoded in 77-token chunks and concatenated,
   * which needs a UNet with a dynamic text-sequence axis).
   */
  textEncoderOptions?: Readonly<Record<string, unknown>>;
  /** `'batched'` (default, as diffusers) or `'sequential'` (half the UNet memory). */
  guidanceMode?: GuidanceMode;
  /**
   * Close the text encoder's sessions once each call's prompts are encoded, and reopen them when
   * a later call needs them (default false): for one-shot use, where holding the text encoder
   * through the denoising loop only adds to the peak memory.
   */
  releaseTextEncoder?: boolean;
  /** VAE tiling (default: tiles of the VAE's `sample_size` for larger images); `false` turns it off. */
  vaeTiling?: VaeTilingOptions | false;
  /** The registry to resolve plugins in (default: the process-wide one). */
  registry?: PluginRegistry;
  /**
   * Projects whose installed plugin packages (keyword `latentkit-plugin` or a `latentkit` field in
   * their `package.json`) are registered before loading (default: `[process.cwd()]`); this
   * package's own dependencies are searched too. `false`: no search, the registry holds what the
   * caller registered.
   */
  pluginSearch?: readonly string[] | false;
  /** Component instances to use instead of loading them. */
  components?: Partial<Pick<StableDiffusionComponents, 'unet' | 'vae' | 'textEncoder'>>;
  /**
   * Stops the load: `fromPretrained()` rejects with an `AbortError` as soon as the signal fires
   * (between reading the folder, opening the sessions and checking the parts; an onnxruntime
   * session that is being opened finishes in the background and is then disposed).
   */
  signal?: AbortSignal;
}

/** The file a model folder may ship with the empty prompt's states, for `denoise` without a text encoder. */
export const UNCONDITIONAL_EMBEDDING_FILE = 'unconditional_embedding.json';

/** Where `fromPretrained()` looks when no folder is given: the `@latentkit/model-tiny` package. */
export function defaultModelPath(): string {
  try {
    // Resolved at run time: model-tiny is an optional peer, installed by users who want the bundled model.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('@latentkit/model-tiny') as { modelPath: string }).modelPath;
  } catch (error) {
    throw new ModelLoadError({
      path: '@latentkit/model-tiny',
      reason: 'no model folder was given and the bundled model is not installed: npm install @latentkit/model-tiny, or pass a model folder',
      cause: error,
    });
  }
}

/**
 * Loads every component of a model folder. Components load in parallel; on any failure the
 * ones already loaded are disposed.
 *
 * @example
 * ```ts
 * const { components, settings } = await loadComponents('models/sd15-onnx', { sessionOptions: { threads: 4 } });
 * ```
 */
export async function loadComponents(folder: string | undefined, options: PipelineLoadOptions = {}): Promise<{ components: StableDiffusionComponents; settings: StableDiffusionSettings }> {
  if (folder !== undefined && (typeof folder !== 'string' || folder.length === 0)) {
    throw new InvalidArgumentError({ name: 'folder', expected: 'the path of a model folder holding model_index.json', actual: folder });
  }
  const signal = optionalSignal(options.signal);
  throwIfAborted(signal);
  const target = options.registry ?? defaultRegistry;
  registerInstalledPlugins(target, options.pluginSearch);
  const model = await readModelFolder(folder ?? defaultModelPath());
  throwIfAborted(signal);
  const sessionOptions = options.sessionOptions ?? {};
  const releaseTextEncoder = optionalBoolean('releaseTextEncoder', options.releaseTextEncoder) ?? false;
  // Each part reports its load steps into its own list (and on to a caller's own listener).
  const recorder = new LoadRecorder();
  const optionsFor = (part: string) => ({ ...sessionOptions, onLoadStep: recorder.listener(part, sessionOptions.onLoadStep) });
  const given = options.components ?? {};
  // A folder without a UNet (model_index.json = {}) is not a Stable Diffusion model: say so before
  // complaining about any one slot.
  if (!given.unet) slot(model, 'unet');
  const encoderChoice = textEncoderSlots(model, options.textEncoder);

  assertDeclaredPartsFit(model, given, encoderChoice?.encoder);

  const vaeSlot = model.components.has('vae_decoder') ? 'vae_decoder' : 'vae';
  // Reopened after a release (releaseTextEncoder): its steps go to the caller's listener only.
  const openTextEncoder = (reopen = false) =>
    target.create<TextEncoder>(
      'text-encoder',
      slot(model, encoderChoice!.encoder),
      { ...options.textEncoderOptions, sessionOptions: reopen ? sessionOptions : optionsFor(encoderChoice!.encoder) },
      { hints: encoderChoice!.hints },
    );
  // Every component loads in parallel; when one fails, the others are awaited and disposed so
  // that no onnxruntime session outlives a failed load.
  type Loaded = UNet | Vae | TextEncoder | undefined;
  const loaders: (() => Promise<Loaded>)[] = [
    () => (given.unet ? Promise.resolve(given.unet) : target.create<UNet>('unet', slot(model, 'unet'), { sessionOptions: optionsFor('unet'), attention: options.attention, cacheDir: options.cacheDir })),
    () =>
      given.vae
        ? Promise.resolve(given.vae)
        : target.create<Vae>('vae', slot(model, vaeSlot), {
            sessionOptions: optionsFor(vaeSlot),
            tiling: options.vaeTiling,
            encoder: model.components.has('vae_encoder') || !model.index.components.some((c) => c.slot === 'vae_encoder') ? 'on-demand' : false,
          }),
    () =>
      given.textEncoder
        ? Promise.resolve(given.textEncoder)
        : encoderChoice
          ? openTextEncoder().then((encoder) => (releaseTextEncoder ? new ReopeningTextEncoder(encoder, () => openTextEncoder(true)) : encoder))
          : Promise.resolve(undefined),
  ];
  const givenInstances: Loaded[] = [given.unet, given.vae, given.textEncoder];
  const ownedOf = (results: PromiseSettledResult<Loaded>[]) =>
    results
      .map((result, i) => (result.status === 'fulfilled' && result.value !== givenInstances[i] ? result.value : undefined))
      .filter((component): component is NonNullable<Loaded> => component !== undefined);
  const disposeAll = (components: NonNullable<Loaded>[]) => Promise.allSettled(components.map((component) => component.dispose?.()));
  const settled = await untilAborted(
    Promise.allSettled(loaders.map((load) => Promise.resolve().then(load))),
    signal,
    (late) => void disposeAll(ownedOf(late)),
  );
  const owned = ownedOf(settled);
  const disposeOwned = () => disposeAll(owned);
  const failure = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failure) {
    await disposeOwned();
    throw failure.reason;
  }
  const [unet, vae, textEncoder] = settled.map((result) => (result as PromiseFulfilledResult<unknown>).value) as [UNet, Vae, TextEncoder | undefined];
  try {
    throwIfAborted(signal);
    // The model's own scheduler comes through the registry like every other slot; a name is
    // configured from the model's scheduler config (diffusers' from_config).
    const scheduler = await schedulerOf(model, options.scheduler, target);
    assertCompatible({ textEncoders: textEncoder ? [textEncoder] : undefined, tokenizer: textEncoder?.tokenizer, unet, vae, scheduler });
    const unconditionalEmbedding = await readUnconditionalEmbedding(model.path);
    throwIfAborted(signal);
    return {
      components: { unet, vae, scheduler, textEncoder, unconditionalEmbedding },
      settings: { guidanceMode: options.guidanceMode, releaseTextEncoder, loadReport: recorder.report() },
    };
  } catch (error) {
    await disposeOwned();
    throw error;
  }
}

/**
 * `work`'s result, or an `AbortError` as soon as `signal` fires; a result that arrives after the
 * abort goes to `lateResult` (to dispose what it opened).
 */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined, lateResult: (value: T) => void): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      work.then(lateResult, () => undefined);
      try {
        throwIfAborted(signal);
      } catch (error) {
        reject(error);
      }
    };
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * Checks the parts against each other from what their configs declare, completed from their ONNX
 * graphs where a config is missing or incomplete (diffusers' converter writes none), before any
 * session opens: a mismatched folder fails in a fraction of a second, naming both values, rather
 * than after loading gigabytes. Parts given as instances are left to the full check, which runs
 * again on the loaded components.
 */
function assertDeclaredPartsFit(model: ModelFolder, given: PipelineLoadOptions['components'] & object, textEncoderSlot: string | undefined): void {
  const vae = model.components.has('vae_decoder') ? 'vae_decoder' : model.components.has('vae') ? 'vae' : undefined;
  const tokenizer = textEncoderSlot === undefined ? undefined : `tokenizer${textEncoderSlot.slice('text_encoder'.length)}`;
  const { components } = componentsToCheck(model, {
    ...(given.unet || !model.components.has('unet') ? {} : { unet: 'unet' }),
    ...(given.vae || vae === undefined ? {} : { vae }),
    ...(given.textEncoder || textEncoderSlot === undefined ? {} : { textEncoders: [textEncoderSlot] }),
    ...(given.textEncoder || tokenizer === undefined || !model.components.has(tokenizer) ? {} : { tokenizer }),
  });
  assertCompatible(components);
}

/** The text encoder and tokenizer slots for a choice, or undefined for none. */
function textEncoderSlots(model: ModelFolder, choice: string | false | undefined): { encoder: string; hints: string[] } | undefined {
  if (choice === false) return undefined;
  if (choice !== undefined && (typeof choice !== 'string' || choice.length === 0)) {
    throw new InvalidArgumentError({ name: 'textEncoder', expected: "a text encoder name such as 'multilingual', or false", actual: choice });
  }
  const named = choice !== undefined && choice !== 'default' && choice !== 'clip';
  const encoder = named ? `text_encoder_${choice}` : 'text_encoder';
  if (!model.components.has(encoder)) {
    const available = model.index.components.filter((c) => c.slot.startsWith('text_encoder') && c.className !== null).map((c) => c.slot);
    throw new InvalidArgumentError({
      name: 'textEncoder',
      expected: `a text encoder this model ships (${available.map((s) => `'${s === 'text_encoder' ? 'default' : s.slice('text_encoder_'.length)}'`).join(', ') || 'none'})`,
      actual: choice ?? 'default',
      hint: `model_index.json of ${model.path} has no '${encoder}' slot`,
    });
  }
  // The encoder's plugin finds its tokenizer in the matching `tokenizer_<name>` slot; a plugin
  // named '<name>-text-encoder' is tried first.
  return { encoder, hints: named ? [`${choice}-text-encoder`] : [] };
}

/**
 * The run's scheduler. A config the scheduler refuses (a negative steps_offset, negative betas,
 * a prediction_type typo) is the model folder's fault, not the caller's: it becomes a
 * {@link ModelLoadError} naming scheduler_config.json.
 */
async function schedulerOf(model: ModelFolder, choice: SchedulerChoice | undefined, target: PluginRegistry): Promise<Scheduler> {
  const component = model.components.get('scheduler');
  try {
    return choice === undefined && component ? await target.create<Scheduler>('scheduler', component) : chooseScheduler(choice, component?.config);
  } catch (error) {
    if (!InvalidArgumentError.isInstance(error) || !component || !/ config\./.test(error.argumentName)) throw error;
    throw new ModelLoadError({ path: component.configFile ?? path.join(component.componentPath, 'scheduler_config.json'), reason: error.message, cause: error });
  }
}

function slot(model: ModelFolder, name: string): FolderComponent {
  const component = model.components.get(name);
  if (!component) {
    const listed = model.index.components.filter((c) => c.className !== null).map((c) => c.slot);
    throw new ModelLoadError({
      path: model.index.file,
      reason:
        `it has no '${name}' component (${listed.length === 0 ? 'it lists no components' : `it lists ${listed.join(', ')}`}): ` +
        'a Stable Diffusion folder needs unet, vae_decoder, scheduler and (for prompts) text_encoder, each as "slot": ["library", "Class"]',
    });
  }
  return component;
}

/** Reads `<model>/unconditional_embedding.json` (`{ dims: [1, seq, D], data: [...] }`) when present. */
export async function readUnconditionalEmbedding(modelPath: string): Promise<Tensor<Float32Array> | undefined> {
  const file = path.join(modelPath, UNCONDITIONAL_EMBEDDING_FILE);
  if (!(await exists(file))) return undefined;
  const json = await readJsonObject(file);
  const { dims, data } = json as { dims?: unknown; data?: unknown };
  if (!Array.isArray(dims) || dims.length !== 3 || dims[0] !== 1 || !Array.isArray(data) || data.length !== dims.reduce((a: number, b: number) => a * b, 1)) {
    throw new ModelLoadError({ path: file, reason: '$ must be { "dims": [1, seq, width], "data": [seq × width numbers] }' });
  }
  return createTensor(dims as number[], Float32Array.from(data as number[]));
}

/**
 * Writes the empty prompt's states beside a model so that `denoise` runs without a text encoder.
 *
 * @example
 * ```ts
 * await writeUnconditionalEmbedding('models/my-model', await pipeline.unconditionalEmbedding());
 * ```
 */
export async function writeUnconditionalEmbedding(modelPath: string, embedding: Tensor<Float32Array>): Promise<string> {
  if (embedding.dims.length !== 3 || embedding.dims[0] !== 1) {
    throw new InvalidArgumentError({ name: 'embedding', expected: 'a [1, seq, width] tensor (the empty prompt\'s states)', actual: embedding.dims });
  }
  const file = path.join(modelPath, UNCONDITIONAL_EMBEDDING_FILE);
  await fs.writeFile(file, JSON.stringify({ dims: embedding.dims, data: Array.from(embedding.data) }));
  return file;
}

/** This package's folder (above `src/` or `dist/`): its own dependencies hold the first-party plugins. */
const PIPELINE_PACKAGE_DIR = path.resolve(__dirname, '..');

/** Registers the plugin packages installed for the given projects and for this package. */
function registerInstalledPlugins(target: PluginRegistry, search: readonly string[] | false | undefined): void {
  if (search === false) return;
  if (search !== undefined && (!Array.isArray(search) || search.some((folder) => typeof folder !== 'string' || folder.length === 0))) {
    throw new InvalidArgumentError({ name: 'pluginSearch', expected: 'a list of project folders, or false', actual: search });
  }
  for (const from of [...(search ?? [process.cwd()]), PIPELINE_PACKAGE_DIR]) discoverPlugins({ from, registry: target });
}
