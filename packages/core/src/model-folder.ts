/**
 * Reading diffusers-layout model folders: `model_index.json`, each component's config, and the
 * files beside them. Every failure is a {@link ModelLoadError} that names the file and, for bad
 * content, the JSON path of the problem.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ModelLoadError } from './errors';
import type { ComponentEntry, ComponentSource } from './registry';

export type JsonObject = Record<string, unknown>;

/** Reads and parses a JSON file, with clear errors for a missing, unreadable or malformed file. */
export async function readJsonFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'the file does not exist' :
      code === 'EISDIR' ? 'it is a directory, not a file' :
      code === 'EACCES' ? 'permission denied' :
      `it cannot be read (${code ?? String(error)})`;
    throw new ModelLoadError({ path: file, reason, cause: error });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const at = /position (\d+)/.exec(message);
    let where = '';
    if (at) {
      const offset = Number(at[1]);
      const before = text.slice(0, offset);
      const line = before.split('\n').length;
      const column = offset - before.lastIndexOf('\n');
      where = ` at line ${line}, column ${column}`;
    }
    throw new ModelLoadError({ path: file, reason: `it is not valid JSON${where} (${message})`, cause: error });
  }
}

/** Reads a JSON file that must hold an object. */
export async function readJsonObject(file: string): Promise<JsonObject> {
  const value = await readJsonFile(file);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ModelLoadError({ path: file, reason: `$ must be a JSON object, found ${Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'null' : typeof value}` });
  }
  return value as JsonObject;
}

/** `model_index.json`: the pipeline class and its component slots. */
export interface ModelIndex {
  readonly file: string;
  /** e.g. `'OnnxStableDiffusionPipeline'`. */
  readonly className: string | null;
  /** Every slot with a `[library, class]` entry, empty ones (`[null, null]`) included. */
  readonly components: readonly ComponentEntry[];
  /** The parsed file as it is on disk. */
  readonly raw: JsonObject;
}

/** Reads `<folder>/model_index.json`. */
export async function readModelIndex(folder: string): Promise<ModelIndex> {
  const file = path.join(folder, 'model_index.json');
  try {
    const stat = await fs.stat(folder);
    if (!stat.isDirectory()) throw new ModelLoadError({ path: folder, reason: 'it is a file, not a model folder: pass the folder that holds model_index.json' });
  } catch (error) {
    if (ModelLoadError.isInstance(error)) throw error;
    throw new ModelLoadError({ path: folder, reason: 'the model folder does not exist', cause: error });
  }
  const raw = await readJsonObject(file);
  const components: ComponentEntry[] = [];
  for (const [slot, value] of Object.entries(raw)) {
    if (slot.startsWith('_') || !Array.isArray(value)) continue;
    if (value.length !== 2 || !value.every((v) => v === null || typeof v === 'string')) {
      throw new ModelLoadError({ path: file, reason: `$.${slot} must be [library, class] (two strings or nulls), found ${JSON.stringify(value)}` });
    }
    components.push({ slot, library: value[0], className: value[1] });
  }
  const className = raw._class_name;
  if (className !== undefined && typeof className !== 'string') {
    throw new ModelLoadError({ path: file, reason: `$._class_name must be a string, found ${JSON.stringify(className)}` });
  }
  return { file, className: (className as string | undefined) ?? null, components, raw };
}

const CONFIG_FILES = ['config.json', 'scheduler_config.json', 'tokenizer_config.json'];

/** Finds and reads a component's config (`config.json`, `scheduler_config.json` or `tokenizer_config.json`). */
export async function readComponentConfig(componentPath: string): Promise<{ file: string; config: JsonObject } | undefined> {
  for (const name of CONFIG_FILES) {
    const file = path.join(componentPath, name);
    if (await exists(file)) return { file, config: await readJsonObject(file) };
  }
  return undefined;
}

/** A file of a component and its size on disk. */
export interface ComponentFile {
  readonly name: string;
  readonly bytes: number;
}

/** One component of a model folder, ready for a plugin's `create()`. */
export interface FolderComponent extends ComponentSource {
  /** The config file read, if any. */
  readonly configFile?: string;
  readonly files: readonly ComponentFile[];
}

/** A model folder: its index and its non-empty components. */
export interface ModelFolder {
  readonly path: string;
  readonly index: ModelIndex;
  readonly components: ReadonlyMap<string, FolderComponent>;
}

/**
 * Reads a diffusers-layout model folder: the index, each non-empty component's config and files.
 *
 * Folders exported by optimum keep the torch pipeline's `model_index.json`
 * (`"unet": ["diffusers", "UNet2DConditionModel"]`, `"vae": ["diffusers", "AutoencoderKL"]`) while
 * each part is an ONNX graph (`unet/model.onnx`, `vae_decoder/`, `vae_encoder/`). Such slots are
 * read as what is on disk: a slot whose folder holds `model.onnx` is `["diffusers",
 * "OnnxRuntimeModel"]`, and a `vae` slot without a `vae/` folder stands for `vae_decoder/` and
 * `vae_encoder/` (see {@link onnxExportEntries}).
 *
 * @example
 * ```ts
 * const folder = await readModelFolder('models/stable-diffusion-v1-5-onnx');
 * folder.components.get('unet')?.config?.cross_attention_dim; // 768
 * ```
 */
export async function readModelFolder(modelPath: string): Promise<ModelFolder> {
  const resolved = path.resolve(modelPath);
  const index = await readModelIndex(resolved);
  const components = new Map<string, FolderComponent>();
  for (const entry of await onnxExportEntries(resolved, index.components)) {
    if (entry.library === null && entry.className === null) continue;
    const componentPath = path.join(resolved, entry.slot);
    if (!(await isDirectory(componentPath))) {
      throw new ModelLoadError({
        path: componentPath,
        reason: `model_index.json lists '${entry.slot}' as [${JSON.stringify(entry.library)}, ${JSON.stringify(entry.className)}] but the folder is missing`,
      });
    }
    const found = await readComponentConfig(componentPath);
    const files: ComponentFile[] = [];
    for (const name of (await fs.readdir(componentPath)).sort()) {
      const stat = await fs.stat(path.join(componentPath, name));
      if (stat.isFile()) files.push({ name, bytes: stat.size });
    }
    components.set(entry.slot, { modelPath: resolved, componentPath, entry, config: found?.config, configFile: found?.file, files });
  }
  return { path: resolved, index, components };
}

const ONNX_ENTRY = { library: 'diffusers', className: 'OnnxRuntimeModel' } as const;

/**
 * The index's entries as the folder holds them: a torch class whose folder holds `model.onnx`
 * (optimum's export of a torch pipeline) becomes `["diffusers", "OnnxRuntimeModel"]`, and a `vae`
 * slot with no `vae/` folder but `vae_decoder/model.onnx` becomes the `vae_decoder` and
 * `vae_encoder` slots. Other entries stay as they are.
 *
 * @example
 * ```ts
 * await onnxExportEntries('models/sd15-optimum', [{ slot: 'vae', library: 'diffusers', className: 'AutoencoderKL' }]);
 * // [{ slot: 'vae_decoder', library: 'diffusers', className: 'OnnxRuntimeModel' }, { slot: 'vae_encoder', … }]
 * ```
 */
export async function onnxExportEntries(modelPath: string, entries: readonly ComponentEntry[]): Promise<ComponentEntry[]> {
  const out: ComponentEntry[] = [];
  const listed = new Set(entries.map((entry) => entry.slot));
  const holdsOnnx = (slot: string) => exists(path.join(modelPath, slot, 'model.onnx'));
  for (const entry of entries) {
    const torchClass = entry.library !== null && entry.className !== null && entry.className !== ONNX_ENTRY.className;
    if (torchClass && entry.slot === 'vae' && !(await isDirectory(path.join(modelPath, 'vae'))) && (await holdsOnnx('vae_decoder'))) {
      for (const slot of ['vae_decoder', 'vae_encoder']) {
        if (!listed.has(slot) && (await holdsOnnx(slot))) out.push({ slot, ...ONNX_ENTRY });
      }
      continue;
    }
    out.push(torchClass && (await holdsOnnx(entry.slot)) ? { slot: entry.slot, ...ONNX_ENTRY } : entry);
  }
  return out;
}

export function configField<T>(
  config: Readonly<Record<string, unknown>> | undefined,
  key: string,
  check: { file: string; expected: string; test: (value: unknown) => value is T },
): T {
  const value = config?.[key];
  if (!check.test(value)) {
    throw new ModelLoadError({
      path: check.file,
      reason: `$.${key} must be ${check.expected}, found ${value === undefined ? 'nothing' : JSON.stringify(value)}`,
    });
  }
  return value;
}

/** A positive integer test for {@link configField}. */
export function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0;
}

/** Whether a path exists. */
export async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

async function isDirectory(dir: string): Promise<boolean> {
  try {
    return (await fs.stat(dir)).isDirectory();
  } catch {
    return false;
  }
}
