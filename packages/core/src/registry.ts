/**
 * The plugin registry: how latentkit finds the code that loads each component of a model folder.
 *
 * A plugin is a plain object (like a rollup plugin). Registration is explicit and idempotent;
 * resolution tries explicit hints, then priority, and when nothing fits throws one
 * {@link PluginResolutionError} listing every candidate and why it declined (as onnxruntime-common
 * resolves its backends).
 */
import { InvalidArgumentError, LatentkitError, PluginResolutionError } from './errors';

export type PluginKind = 'text-encoder' | 'scheduler' | 'unet' | 'vae' | 'tokenizer';

/** A `model_index.json` component entry such as `["transformers", "CLIPTextModel"]`, with its slot. */
export interface ComponentEntry {
  /** The slot's name in `model_index.json`: `text_encoder`, `unet`, `vae_decoder`, … */
  readonly slot: string;
  /** The library, e.g. `'diffusers'`, `'transformers'`; null for an empty slot. */
  readonly library: string | null;
  /** The class, e.g. `'OnnxRuntimeModel'`, `'CLIPTokenizer'`, `'PNDMScheduler'`. */
  readonly className: string | null;
}

/** Where a plugin loads a component from. */
export interface ComponentSource {
  /** The model folder (holding `model_index.json`). */
  readonly modelPath: string;
  /** The component's own folder: `<modelPath>/<slot>`. */
  readonly componentPath: string;
  readonly entry: ComponentEntry;
  /** The component's parsed `config.json` / `scheduler_config.json` / `tokenizer_config.json`, if any. */
  readonly config?: Readonly<Record<string, unknown>>;
}

/** What `supports()` answers: true, or a reason for declining. */
export type SupportAnswer = true | { reason: string };

/**
 * A latentkit plugin.
 *
 * @example
 * ```ts
 * const plugin: Plugin<TextEncoder> = {
 *   name: 'my-encoder',
 *   specificationVersion: 'v1',
 *   kind: 'text-encoder',
 *   supports: (entry) => entry.className === 'MyEncoder' || { reason: 'not a MyEncoder' },
 *   create: async (source) => MyEncoder.load(source.componentPath),
 * };
 * registry.register(plugin);
 * ```
 */
export interface Plugin<T = unknown, O = unknown> {
  readonly name: string;
  readonly specificationVersion: 'v1';
  readonly kind: PluginKind;
  /** Higher goes first when several plugins support an entry (default 0). */
  readonly priority?: number;
  /**
   * Whether this plugin loads the entry. When a folder is being loaded (`registry.create()`),
   * `source` — the component's folder and parsed config — comes too, so that components sharing a
   * class (every ONNX export is `["diffusers", "OnnxRuntimeModel"]`) can be told apart by their
   * config (`model_type`, …); a plugin that looks at `entry` alone ignores it.
   */
  supports(entry: ComponentEntry, source?: ComponentSource): boolean | SupportAnswer;
  create(source: ComponentSource, options?: O): Promise<T> | T;
}

export interface ResolveOptions {
  /** Plugin names to try first, in order, before the others by priority. */
  hints?: readonly string[];
  /** The component being loaded, handed to each plugin's `supports()` (set by `create()`). */
  source?: ComponentSource;
}

/** Holds plugins by kind and name. */
export class PluginRegistry {
  private readonly plugins = new Map<string, Plugin>();

  /** Adds a plugin. The same object twice is a no-op; another plugin under a taken name throws. */
  register(plugin: Plugin): this {
    validatePlugin(plugin);
    const key = `${plugin.kind}:${plugin.name}`;
    const existing = this.plugins.get(key);
    if (existing === plugin) return this;
    if (existing) {
      throw new LatentkitError(
        'plugin-conflict',
        `A different ${plugin.kind} plugin named '${plugin.name}' is already registered: ` +
          `give your plugin another name, or unregister('${plugin.kind}', '${plugin.name}') first`,
      );
    }
    this.plugins.set(key, plugin);
    return this;
  }

  /** Removes a plugin; returns whether one was removed. */
  unregister(kind: PluginKind, name: string): boolean {
    return this.plugins.delete(`${kind}:${name}`);
  }

  get(kind: PluginKind, name: string): Plugin | undefined {
    return this.plugins.get(`${kind}:${name}`);
  }

  /** Plugins of a kind, highest priority first (ties keep registration order). */
  list(kind?: PluginKind): Plugin[] {
    const all = [...this.plugins.values()].filter((p) => kind === undefined || p.kind === kind);
    return all
      .map((plugin, index) => ({ plugin, index }))
      .sort((a, b) => (b.plugin.priority ?? 0) - (a.plugin.priority ?? 0) || a.index - b.index)
      .map(({ plugin }) => plugin);
  }

  /** The first plugin that supports the entry: hinted ones first, then by priority. */
  resolve<T = unknown>(kind: PluginKind, entry: ComponentEntry, options: ResolveOptions = {}): Plugin<T> {
    const declined: { plugin: string; reason: string }[] = [];
    const ordered: Plugin[] = [];
    for (const hint of options.hints ?? []) {
      const plugin = this.get(kind, hint);
      if (plugin) ordered.push(plugin);
      else declined.push({ plugin: hint, reason: `no ${kind} plugin of this name is registered` });
    }
    for (const plugin of this.list(kind)) if (!ordered.includes(plugin)) ordered.push(plugin);
    for (const plugin of ordered) {
      let answer: boolean | SupportAnswer;
      try {
        answer = plugin.supports(entry, options.source);
      } catch (error) {
        answer = { reason: `supports() threw: ${error instanceof Error ? error.message : String(error)}` };
      }
      if (answer === true) return plugin as Plugin<T>;
      declined.push({ plugin: plugin.name, reason: answer === false ? 'does not support this entry' : answer.reason });
    }
    throw new PluginResolutionError({ slot: entry.slot, entry: [entry.library, entry.className], declined });
  }

  /** Resolves a plugin (its `supports()` sees the source and its config) and creates the component. */
  async create<T = unknown>(kind: PluginKind, source: ComponentSource, options?: unknown, resolve?: ResolveOptions): Promise<T> {
    const plugin = this.resolve<T>(kind, source.entry, { ...resolve, source });
    return plugin.create(source, options);
  }
}

const KINDS: readonly PluginKind[] = ['text-encoder', 'scheduler', 'unet', 'vae', 'tokenizer'];

function validatePlugin(plugin: Plugin): void {
  if (typeof plugin !== 'object' || plugin === null) {
    throw new InvalidArgumentError({ name: 'plugin', expected: 'a plugin object', actual: plugin });
  }
  if (typeof plugin.name !== 'string' || plugin.name.length === 0) {
    throw new InvalidArgumentError({ name: 'plugin.name', expected: 'a non-empty string', actual: plugin.name });
  }
  if (plugin.specificationVersion !== 'v1') {
    throw new InvalidArgumentError({
      name: `plugin '${plugin.name}'.specificationVersion`,
      expected: "'v1'",
      actual: plugin.specificationVersion,
      hint: 'this version of @latentkit/core implements specification v1; upgrade @latentkit/core or build the plugin against v1',
    });
  }
  if (!KINDS.includes(plugin.kind)) {
    throw new InvalidArgumentError({ name: `plugin '${plugin.name}'.kind`, expected: KINDS.map((k) => `'${k}'`).join(' | '), actual: plugin.kind });
  }
  if (typeof plugin.supports !== 'function' || typeof plugin.create !== 'function') {
    throw new InvalidArgumentError({ name: `plugin '${plugin.name}'`, expected: 'supports() and create() functions', actual: plugin });
  }
}

/**
 * The process-wide registry that `fromPretrained()` uses. Packages register their plugins in it
 * when imported through their `register()` function; registering twice is harmless.
 */
export const registry: PluginRegistry = (() => {
  const key = Symbol.for('latentkit.registry');
  const holder = globalThis as unknown as Record<symbol, PluginRegistry | undefined>;
  return (holder[key] ??= new PluginRegistry());
})();
