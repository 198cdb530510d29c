/**
 * The pieces every text-encoder plugin repeats: where the tokenizer of a `text_encoder*` slot
 * lives, the `model.onnx` check before opening a session, a tokenizer plugin chosen by its
 * transformers class, and the checks of `fromPretrained(folder, options)`.
 */
import * as path from 'node:path';
import {
  InvalidArgumentError,
  ModelLoadError,
  exists,
  registry as defaultRegistry,
  type AnyPlugin,
  type ComponentEntry,
  type ComponentSource,
  type Plugin,
  type PluginRegistry,
  type SupportAnswer,
  type Tokenizer,
} from '@latentkit/core';

/**
 * The tokenizer folder of a text-encoder slot: `tokenizer` for `text_encoder`, `tokenizer_<name>`
 * for `text_encoder_<name>` (diffusers' layout).
 *
 * @example
 * ```ts
 * tokenizerFolderOf({ modelPath: 'm', componentPath: 'm/text_encoder_2', entry }); // 'm/tokenizer_2'
 * ```
 */
export function tokenizerFolderOf(source: ComponentSource): string {
  return path.join(source.modelPath, source.entry.slot.replace('text_encoder', 'tokenizer'));
}

/**
 * The first of the candidate folders that holds one of the files named, else undefined: where a
 * tokenizer is looked for beside an encoder.
 *
 * @example
 * ```ts
 * await firstFolderWith(['m/text_encoder', 'm/tokenizer'], ['tokenizer.json', 'vocab.json']); // 'm/tokenizer'
 * ```
 */
export async function firstFolderWith(candidates: readonly string[], files: readonly string[]): Promise<string | undefined> {
  for (const dir of candidates) {
    for (const file of files) if (await exists(path.join(dir, file))) return dir;
  }
  return undefined;
}

/**
 * The component's `model.onnx`, or a {@link ModelLoadError} that says how to export one.
 *
 * @example
 * ```ts
 * const modelFile = await requireOnnxModel(source, 'export the text encoder to ONNX');
 * ```
 */
export async function requireOnnxModel(source: ComponentSource, howToExport: string): Promise<string> {
  const modelFile = path.join(source.componentPath, 'model.onnx');
  if (!(await exists(modelFile))) {
    throw new ModelLoadError({ path: source.componentPath, reason: `'${source.entry.slot}' has no model.onnx: ${howToExport}` });
  }
  return modelFile;
}

/**
 * A tokenizer plugin that loads the transformers tokenizer classes it lists.
 *
 * @example
 * ```ts
 * const plugin = defineTokenizerPlugin({ name: 'my-tokenizer', classes: ['BertTokenizer'], describe: 'BERT tokenizers', load: (dir, o) => MyTokenizer.fromPretrained(dir, o) });
 * ```
 */
export function defineTokenizerPlugin<T extends Tokenizer, O>(spec: {
  name: string;
  /** transformers tokenizer classes (`tokenizer: ["transformers", "<class>"]`) it loads. */
  classes: readonly string[];
  /** What it loads, for the reason it gives when it declines. */
  describe: string;
  load: (folder: string, options: O) => Promise<T> | T;
}): Plugin<T, O> {
  const classes = new Set(spec.classes);
  return Object.freeze({
    name: spec.name,
    specificationVersion: 'v1',
    kind: 'tokenizer',
    supports(entry: ComponentEntry): SupportAnswer {
      if (entry.className !== null && classes.has(entry.className)) return true;
      return { reason: `it loads ${spec.describe}, not ${JSON.stringify([entry.library, entry.className])}` };
    },
    create: (source: ComponentSource, options?: O) => spec.load(source.componentPath, options ?? ({} as O)),
  } satisfies Plugin<T, O>);
}

/**
 * The argument checks every encoder's `fromPretrained(folder, options)` runs first.
 *
 * @example
 * ```ts
 * assertFromPretrainedArguments(folder, options, 'the path of a model folder or its text_encoder/ folder');
 * ```
 */
export function assertFromPretrainedArguments(folder: unknown, options: unknown, expectedFolder: string): asserts folder is string {
  if (typeof folder !== 'string' || folder.length === 0) throw new InvalidArgumentError({ name: 'folder', expected: expectedFolder, actual: folder });
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError({ name: 'options', expected: 'an options object', actual: options });
}

/**
 * Refuses a tokenizer that pads longer than the encoder has positions (`max_position_embeddings`
 * of its `config.json`), with the fix.
 *
 * @example
 * ```ts
 * assertTokenizerFitsPositions(componentDir, config, 77, 'use the tokenizer that came with this encoder');
 * ```
 */
export function assertTokenizerFitsPositions(componentDir: string, config: Readonly<Record<string, unknown>>, tokenizerLength: number, fix: string): void {
  const positions = config.max_position_embeddings;
  if (typeof positions === 'number' && tokenizerLength > positions) {
    throw new ModelLoadError({ path: componentDir, reason: `the tokenizer pads to ${tokenizerLength} tokens but the encoder has ${positions} positions: ${fix}` });
  }
}

/**
 * A plugin package's `register(registry?)`: adds its plugins to the registry given (default: the
 * process-wide one) and returns it. Registering twice is a no-op, as for every plugin.
 *
 * @example
 * ```ts
 * export const register = pluginRegistrar(myTextEncoderPlugin, myTokenizerPlugin);
 * ```
 */
export function pluginRegistrar(...plugins: readonly AnyPlugin[]): (registry?: PluginRegistry) => PluginRegistry {
  return (registry: PluginRegistry = defaultRegistry) => {
    for (const plugin of plugins) registry.register(plugin);
    return registry;
  };
}
