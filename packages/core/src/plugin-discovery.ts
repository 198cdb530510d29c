/**
 * Finding plugin packages without naming them: the installed dependencies of a project whose
 * `package.json` carries the `latentkit-plugin` keyword (as rollup plugins carry `rollup-plugin`)
 * or a `latentkit` field are loaded and their `register(registry)` (or `plugins` list) called.
 * First-party and third-party plugin packages are found the same way.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { InvalidArgumentError, LatentkitError } from './errors';
import { registry as defaultRegistry, type AnyPlugin, type PluginRegistry } from './registry';

/** The `package.json` keyword that marks a latentkit plugin package. */
export const PLUGIN_KEYWORD = 'latentkit-plugin';

/**
 * The `latentkit` field of a plugin package's `package.json` (the keyword alone works too).
 * `entry`: the module, relative to the package, that exports `register(registry)` or `plugins`
 * (default: the package's main module).
 */
export interface PluginPackageField {
  readonly entry?: string;
}

/** A plugin package that {@link discoverPlugins} loaded. */
export interface DiscoveredPluginPackage {
  /** The package name, e.g. `'@latentkit/encoder-multilingual'`. */
  readonly name: string;
  /** Its folder. */
  readonly directory: string;
  /** Names of the plugins it registered (`kind:name`). */
  readonly plugins: readonly string[];
}

/** Options of {@link discoverPlugins}. */
export interface DiscoverPluginsOptions {
  /** A folder of the project whose dependencies are searched (its nearest `package.json`; default `process.cwd()`). */
  from?: string;
  /** Where to register (default: the process-wide registry). */
  registry?: PluginRegistry;
}

const DEPENDENCY_FIELDS = ['dependencies', 'optionalDependencies', 'peerDependencies', 'devDependencies'] as const;
const searched = new WeakMap<PluginRegistry, Map<string, readonly DiscoveredPluginPackage[]>>();

/**
 * Registers the plugins of every installed dependency of a project that is a latentkit plugin
 * package (keyword `latentkit-plugin`, or a `latentkit` field, in its `package.json`). Packages
 * are resolved from the project as Node resolves them; a dependency that is not installed is
 * skipped. A project is searched once per registry. A plugin package that fails to load throws.
 *
 * @example
 * ```ts
 * // package.json of the app: "dependencies": { "@latentkit/pipeline": "…", "latentkit-encoder-foo": "…" }
 * discoverPlugins({ from: process.cwd() }); // registers latentkit-encoder-foo's plugins
 * ```
 */
export function discoverPlugins(options: DiscoverPluginsOptions = {}): readonly DiscoveredPluginPackage[] {
  const registry = options.registry ?? defaultRegistry;
  if (options.from !== undefined && (typeof options.from !== 'string' || options.from.length === 0)) {
    throw new InvalidArgumentError({ name: 'from', expected: 'a folder of the project whose dependencies hold plugins', actual: options.from });
  }
  const manifest = nearestPackageJson(path.resolve(options.from ?? process.cwd()));
  if (!manifest) return [];
  const done = searched.get(registry) ?? new Map<string, readonly DiscoveredPluginPackage[]>();
  searched.set(registry, done);
  const cached = done.get(manifest);
  if (cached) return cached;

  const project = readManifest(manifest) ?? {};
  const requireFromProject = createRequire(manifest);
  const names = new Set<string>();
  for (const field of DEPENDENCY_FIELDS) {
    const dependencies = project[field];
    if (typeof dependencies === 'object' && dependencies !== null) for (const name of Object.keys(dependencies)) names.add(name);
  }
  const found: DiscoveredPluginPackage[] = [];
  for (const name of [...names].sort()) {
    const directory = installedPackageDir(name, path.dirname(manifest));
    if (!directory) continue;
    const pkg = readManifest(path.join(directory, 'package.json'));
    const field = pluginField(pkg);
    if (!field) continue;
    found.push({ name, directory, plugins: registerPackage(registry, name, directory, field, requireFromProject) });
  }
  done.set(manifest, found);
  return found;
}

/** The `latentkit` field of a plugin package, `{}` for the keyword alone, or undefined for a non-plugin. */
function pluginField(pkg: Record<string, unknown> | undefined): PluginPackageField | undefined {
  if (!pkg) return undefined;
  const field = pkg.latentkit;
  if (typeof field === 'object' && field !== null) return field as PluginPackageField;
  return Array.isArray(pkg.keywords) && pkg.keywords.includes(PLUGIN_KEYWORD) ? {} : undefined;
}

function registerPackage(registry: PluginRegistry, name: string, directory: string, field: PluginPackageField, load: NodeRequire): string[] {
  let exports: { register?: unknown; plugins?: unknown };
  try {
    exports = load(typeof field.entry === 'string' ? path.join(directory, field.entry) : name) as typeof exports;
  } catch (error) {
    throw new LatentkitError('plugin-discovery', `The latentkit plugin package '${name}' (${directory}) failed to load: ${error instanceof Error ? error.message : String(error)}. Reinstall or rebuild it, or remove it from the project's dependencies`, { cause: error });
  }
  const before = new Set(registry.list());
  if (typeof exports.register === 'function') (exports.register as (registry: PluginRegistry) => unknown)(registry);
  else if (Array.isArray(exports.plugins)) for (const plugin of exports.plugins as AnyPlugin[]) registry.register(plugin);
  else {
    throw new LatentkitError(
      'plugin-discovery',
      `The latentkit plugin package '${name}' exports neither register(registry) nor a plugins array: export one of them from ${field.entry ?? 'its main module'}`,
    );
  }
  return registry.list().filter((plugin) => !before.has(plugin)).map((plugin) => `${plugin.kind}:${plugin.name}`);
}

/** The folder of an installed package as Node finds it: `node_modules/<name>` here or in a parent folder. */
function installedPackageDir(name: string, from: string): string | undefined {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (fs.existsSync(path.join(candidate, 'package.json'))) return fs.realpathSync(candidate);
    if (path.dirname(dir) === dir) return undefined;
  }
}

function nearestPackageJson(from: string): string | undefined {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'package.json');
    if (fs.existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) return undefined;
  }
}

function readManifest(file: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
