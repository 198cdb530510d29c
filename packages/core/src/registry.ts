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
 * A latentkit plugin, specification v1: `create(source, options)`.
 *
 * @example
 * ```ts
 * const plugin: PluginV1<TextEncoder> = {
 *   name: 'my-encoder',
 *   specificationVersion: 'v1',
 *   kind: 'text-encoder',
 *   supports: (entry) => entry.className === 'MyEncoder' || { reason: 'not a MyEncoder' },
 *   create: async (source) => MyEncoder.load(source.componentPath),
 * };
 * registry.register(plugin);
 * ```
 */
export interface PluginV1<T = unknown, O = unknown> {
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

/** What a v2 plugin's `create()` receives besides the source. */
export interface PluginCreateContext<O = unknown> {
  /** The caller's options for this component (`sessionOptions`, …). */
  readonly options?: O;
  /** The registry creating the component: a plugin resolves the parts it needs (its tokenizer) here. */
  readonly registry: PluginRegistry;
  /** Cancels a long load. */
  readonly signal?: AbortSignal;
}

/**
 * A latentkit plugin, specification v2: `create(source, context)` gets the registry (to load
 * the sub-components it needs through their plugins) and an abort signal beside the options.
 * Registries accept v1 and v2 plugins side by side (as vercel/ai keeps its `specificationVersion`s).
 *
 * @example
 * ```ts
 * const plugin: PluginV2<TextEncoder, MyOptions> = {
 *   name: 'my-encoder',
 *   specificationVersion: 'v2',
 *   kind: 'text-encoder',
 *   supports: (entry) => entry.className === 'MyEncoder' || { reason: 'not a MyEncoder' },
 *   async create(source, { options, registry, signal }) {
 *     const tokenizer = await registry.create<Tokenizer>('tokenizer', tokenizerSourceOf(source), undefined, { signal });
 *     return MyEncoder.load(source.componentPath, { ...options, tokenizer });
 *   },
 * };
 * ```
 */
export interface PluginV2<T = unknown, O = unknown> extends Omit<PluginV1<T, O>, 'specificationVersion' | 'create'> {
  readonly specificationVersion: 'v2';
  create(source: ComponentSource, context: PluginCreateContext<O>): Promise<T> | T;
}

/**
 * The v1 plugin interface under its first name: code written against v1 (`const p: Plugin<X>`,
 * `p.create(source, options)`) keeps compiling.
 */
export type Plugin<T = unknown, O = unknown> = PluginV1<T, O>;

/** Any plugin a registry accepts: every specification version this release implements. */
export type AnyPlugin<T = unknown, O = unknown> = PluginV1<T, O> | PluginV2<T, O>;

/** The plugin specification versions this release of `@latentkit/core` implements. */
export const PLUGIN_SPECIFICATION_VERSIONS = ['v1', 'v2'] as const;

/**
 * Creates a component with a plugin of any specification version, as the registry does.
 *
 * @example
 * ```ts
 * const encoder = await createWithPlugin(plugin, source, { options: { sessionOptions }, registry });
 * ```
 */
export function createWithPlugin<T, O>(plugin: AnyPlugin<T, O>, source: ComponentSource, context: PluginCreateContext<O>): Promise<T> {
  return Promise.resolve().then(() => (plugin.specificationVersion === 'v2' ? plugin.create(source, context) : plugin.create(source, context.options)));
}

export interface ResolveOptions {
  /** Plugin names to try first, in order, before the others by priority. */
  hints?: readonly string[];
  /** The component being loaded, handed to each plugin's `supports()` (set by `create()`). */
  source?: ComponentSource;
  /** Cancels the load; v2 plugins receive it in their `create()` context. */
  signal?: AbortSignal;
}

/** Holds plugins by kind and name. */
export class PluginRegistry {
  private readonly plugins = new Map<string, AnyPlugin>();

  /** Adds a plugin. The same object twice is a no-op; another plugin under a taken name throws. */
  register(plugin: PluginV1): this;
  register(plugin: PluginV2): this;
  register(plugin: AnyPlugin): this;
  register(plugin: AnyPlugin): this {
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

  get(kind: PluginKind, name: string): AnyPlugin | undefined {
    return this.plugins.get(`${kind}:${name}`);
  }

  /** Plugins of a kind, highest priority first (ties keep registration order). */
  list(kind?: PluginKind): AnyPlugin[] {
    const all = [...this.plugins.values()].filter((p) => kind === undefined || p.kind === kind);
    return all
      .map((plugin, index) => ({ plugin, index }))
      .sort((a, b) => (b.plugin.priority ?? 0) - (a.plugin.priority ?? 0) || a.index - b.index)
      .map(({ plugin }) => plugin);
  }

  /** The first plugin that supports the entry: hinted ones first, then by priority. */
  resolve<T = unknown>(kind: PluginKind, entry: ComponentEntry, options: ResolveOptions = {}): AnyPlugin<T> {
    const declined: { plugin: string; reason: string }[] = [];
    const ordered: AnyPlugin[] = [];
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
      if (answer === true) return plugin as AnyPlugin<T>;
      declined.push({ plugin: plugin.name, reason: answer === false ? 'does not support this entry' : answer.reason });
    }
    throw new PluginResolutionError({ slot: entry.slot, entry: [entry.library, entry.className], declined });
  }

  /** Resolves a plugin (its `supports()` sees the source and its config) and creates the component. */
  async create<T = unknown>(kind: PluginKind, source: ComponentSource, options?: unknown, resolve?: ResolveOptions): Promise<T> {
    const plugin = this.resolve<T>(kind, source.entry, { ...resolve, source });
    return createWithPlugin(plugin, source, { options, registry: this, signal: resolve?.signal });
  }
}

const KINDS: readonly PluginKind[] = ['text-encoder', 'scheduler', 'unet', 'vae', 'tokenizer'];

function validatePlugin(plugin: AnyPlugin): void {
  if (typeof plugin !== 'object' || plugin === null) {
    throw new InvalidArgumentError({ name: 'plugin', expected: 'a plugin object', actual: plugin });
  }
  if (typeof plugin.name !== 'string' || plugin.name.length === 0) {
    throw new InvalidArgumentError({ name: 'plugin.name', expected: 'a non-empty string', actual: plugin.name });
  }
  if (!(PLUGIN_SPECIFICATION_VERSIONS as readonly unknown[]).includes(plugin.specificationVersion)) {
    throw new InvalidArgumentError({
      name: `plugin '${plugin.name}'.specificationVersion`,
      expected: PLUGIN_SPECIFICATION_VERSIONS.map((v) => `'${v}'`).join(' | '),
      actual: plugin.specificationVersion,
      hint: `this version of @latentkit/core implements plugin specifications ${PLUGIN_SPECIFICATION_VERSIONS.join(' and ')}; upgrade @latentkit/core or build the plugin against one of them`,
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
