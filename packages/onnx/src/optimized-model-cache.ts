/**
 * onnxruntime's optimized-model cache: the first session of a model saves the graph as onnxruntime
 * optimized it (`optimizedModelFilePath`, weights in an external file beside it), later sessions
 * open that file with graph optimization off, skipping the fusion and constant-folding passes that
 * take most of a large model's load time.
 *
 * An entry is keyed by everything that changes the optimized graph: the model's absolute path, the
 * size and modification time of every file in its folder (`model.onnx` and its external data:
 * `weights.pb`, `model.onnx_data`), the execution providers, the optimization level, onnxruntime's
 * version, the platform and the CPU (its model and vector instruction sets: level `'all'` inserts
 * layout transforms for this CPU). An entry is written to a temporary folder and renamed into
 * place, so an interrupted save never leaves a half entry.
 */
import { createHash } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as ort from 'onnxruntime-node';
import { InvalidArgumentError } from '@latentkit/core';

/** The file an entry holds (the optimized graph) and its external weights file. */
const ENTRY_MODEL = 'model.onnx';
const ENTRY_WEIGHTS = 'model.onnx.data';

/** Models smaller than this (all their files together) load fast enough uncached. */
export const OPTIMIZED_CACHE_MIN_BYTES = 64 * 1024 * 1024;

/**
 * The cache folder: `LATENTKIT_CACHE_DIR`, else `$XDG_CACHE_HOME/latentkit`, else
 * `~/.cache/latentkit`; entries live in its `optimized-models/` folder.
 *
 * @example
 * ```ts
 * defaultCacheFolder({ LATENTKIT_CACHE_DIR: '/tmp/lk' }); // '/tmp/lk'
 * ```
 */
export function defaultCacheFolder(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LATENTKIT_CACHE_DIR) return path.resolve(env.LATENTKIT_CACHE_DIR);
  const base = env.XDG_CACHE_HOME ? env.XDG_CACHE_HOME : path.join(os.homedir(), '.cache');
  return path.join(base, 'latentkit');
}

function entriesFolder(cacheFolder: string): string {
  return path.join(cacheFolder, 'optimized-models');
}

/** What identifies one optimized model: the source files and the options that shape the graph. */
export interface OptimizedModelKey {
  /** A hex digest of everything below. */
  readonly digest: string;
  /** Bytes of the model's folder (model.onnx and external data). */
  readonly sourceBytes: number;
}

/**
 * The key of `modelFile` under `sessionOptions`. `weightsFolder` is where its external data
 * lies when not beside it (a UNet segment, whose weights stay in the source model's folder): its
 * files key the entry, and the model file's own size and modification time with them.
 *
 * @example
 * ```ts
 * const { digest } = await optimizedModelKey('models/sd15/unet/model.onnx', { graphOptimizationLevel: 'all' });
 * ```
 */
export async function optimizedModelKey(modelFile: string, sessionOptions: ort.InferenceSession.SessionOptions, weightsFolder?: string): Promise<OptimizedModelKey> {
  const file = path.resolve(modelFile);
  const folder = weightsFolder === undefined ? path.dirname(file) : path.resolve(weightsFolder);
  const files: [string, number, number][] = [];
  if (weightsFolder !== undefined) {
    const stat = await fs.stat(file);
    files.push([file, stat.size, Math.round(stat.mtimeMs)]);
  }
  let sourceBytes = 0;
  for (const name of (await fs.readdir(folder)).sort()) {
    if (name === 'config.json' || name.startsWith('.')) continue;
    const stat = await fs.stat(path.join(folder, name));
    if (!stat.isFile()) continue;
    files.push([name, stat.size, Math.round(stat.mtimeMs)]);
    sourceBytes += stat.size;
  }
  const providers = (sessionOptions.executionProviders ?? ['cpu']).map((provider) => (typeof provider === 'string' ? provider : provider.name));
  const description = JSON.stringify({
    file,
    ...(weightsFolder === undefined ? {} : { weightsFolder: folder }),
    files,
    providers,
    level: sessionOptions.graphOptimizationLevel ?? 'all',
    onnxruntime: onnxRuntimeVersion(),
    platform: `${process.platform}-${process.arch}`,
    cpu: cpuIdentity(),
  });
  return { digest: createHash('sha256').update(description).digest('hex').slice(0, 32), sourceBytes };
}

/**
 * The CPU an entry was optimized for: level `'all'` lays convolutions out in blocks of the
 * widest vector unit (16 floats with AVX-512, 8 with AVX2), so an entry made on one CPU must not
 * open on another (a cache folder shared between machines). The model name, and on Linux its
 * vector instruction sets (flags that a kernel update adds, such as mitigations, do not count).
 */
let cpuIdentityValue: string | undefined;
function cpuIdentity(): string {
  if (cpuIdentityValue === undefined) {
    let flags = '';
    try {
      const all = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim().split(/\s+/) ?? [];
      flags = all.filter((flag) => /^(sse|ssse|avx|amx|fma|f16c)/.test(flag)).sort().join(' ');
    } catch {
      // Not Linux: the model name alone.
    }
    cpuIdentityValue = `${os.cpus()[0]?.model ?? 'unknown'}|${flags}`;
  }
  return cpuIdentityValue;
}

function onnxRuntimeVersion(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('onnxruntime-node/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Where a cached session comes from, for callers that report it. */
export interface CachedSessionPlan {
  /** The file onnxruntime opens. */
  readonly openFile: string;
  /** The options it opens with. */
  readonly options: ort.InferenceSession.SessionOptions;
  /** `'hit'`: the optimized copy opens; `'fill'`: the source opens and saves its optimized copy; `'skip'`: uncached. */
  readonly state: 'hit' | 'fill' | 'skip';
  /** After a successful `'fill'` open: moves the saved entry into place. */
  commit(): Promise<void>;
  /** After a failed open: removes what a `'fill'` wrote. */
  abandon(): Promise<void>;
}

/**
 * How to open `modelFile` through the cache in `cacheFolder`: the optimized copy when there is
 * one, else the source with `optimizedModelFilePath` set to a temporary entry. `weightsFolder`:
 * where the model's external data lies when not beside it (see {@link optimizedModelKey}); its
 * size decides whether the model is large enough to cache, and a hit's options no longer point
 * there (the entry holds its own weights).
 *
 * @example
 * ```ts
 * const plan = await planCachedSession(file, ortOptions, defaultCacheFolder());
 * const session = await ort.InferenceSession.create(plan.openFile, plan.options);
 * await plan.commit();
 * ```
 */
export async function planCachedSession(
  modelFile: string,
  options: ort.InferenceSession.SessionOptions,
  cacheFolder: string,
  minBytes = OPTIMIZED_CACHE_MIN_BYTES,
  weightsFolder?: string,
): Promise<CachedSessionPlan> {
  if (typeof cacheFolder !== 'string' || cacheFolder.length === 0) {
    throw new InvalidArgumentError({ name: 'cacheFolder', expected: 'a folder path for optimized models', actual: cacheFolder });
  }
  const none = async () => undefined;
  const level = options.graphOptimizationLevel ?? 'all';
  if (level === 'disabled' || options.optimizedModelFilePath !== undefined) {
    return { openFile: modelFile, options, state: 'skip', commit: none, abandon: none };
  }
  const key = await optimizedModelKey(modelFile, options, weightsFolder);
  if (key.sourceBytes < minBytes) return { openFile: modelFile, options, state: 'skip', commit: none, abandon: none };
  const entry = path.join(entriesFolder(cacheFolder), key.digest);
  const extra = (options.extra ?? {}) as Record<string, unknown>;
  const session = (extra.session ?? {}) as Record<string, unknown>;
  if (await isComplete(entry)) {
    // The entry's weights lie beside its graph: a folder for the source's external data no longer applies.
    const { model_external_initializers_file_folder_path: _source, ...entrySession } = session;
    return {
      openFile: path.join(entry, ENTRY_MODEL),
      options: { ...options, graphOptimizationLevel: 'disabled', ...(options.extra === undefined ? {} : { extra: { ...extra, session: entrySession } }) },
      state: 'hit',
      commit: none,
      abandon: none,
    };
  }
  const staging = `${entry}.${process.pid}.${Date.now()}.tmp`;
  await fs.mkdir(staging, { recursive: true });
  return {
    openFile: modelFile,
    state: 'fill',
    options: {
      ...options,
      // onnxruntime warns that a level-'all' graph is hardware specific: this cache is local, by design.
      logSeverityLevel: options.logSeverityLevel ?? 3,
      optimizedModelFilePath: path.join(staging, ENTRY_MODEL),
      extra: {
        ...extra,
        // Weights go to one external file so that models over protobuf's 2 GB limit can be saved.
        session: { ...session, optimized_model_external_initializers_file_name: ENTRY_WEIGHTS, optimized_model_external_initializers_min_size_in_bytes: '1024' },
      },
    },
    async commit() {
      try {
        await fs.writeFile(path.join(staging, 'source.json'), JSON.stringify({ source: path.resolve(modelFile), bytes: key.sourceBytes }) + '\n');
        await fs.rename(staging, entry);
      } catch {
        // Another process filled the same entry first, or the disk is full: the session is open either way.
        await fs.rm(staging, { recursive: true, force: true });
      }
    },
    abandon: () => fs.rm(staging, { recursive: true, force: true }),
  };
}

async function isComplete(entry: string): Promise<boolean> {
  try {
    await fs.access(path.join(entry, 'source.json'));
    await fs.access(path.join(entry, ENTRY_MODEL));
    return true;
  } catch {
    return false;
  }
}

/**
 * The folders of `cacheFolder` whose entries latentkit writes: optimized models (this file) and
 * the UNet graphs `@latentkit/unet` splits around their attention calls (`attention/`).
 */
const CACHED_KINDS = ['optimized-models', 'attention'] as const;

/**
 * Deletes everything latentkit cached in `cacheFolder` (default {@link defaultCacheFolder}):
 * every optimized model (whole graphs and UNet segments) and every stored UNet partition, and
 * returns the bytes freed. Files of other programs in the folder are left alone.
 *
 * @example
 * ```ts
 * const freed = await clearOptimizedModelCache(); // e.g. 3.4e9
 * ```
 */
export async function clearOptimizedModelCache(cacheFolder: string = defaultCacheFolder()): Promise<number> {
  let freed = 0;
  for (const kind of CACHED_KINDS) {
    const folder = path.join(cacheFolder, kind);
    let names: string[];
    try {
      names = await fs.readdir(folder);
    } catch {
      continue;
    }
    for (const name of names) {
      const entry = path.join(folder, name);
      for (const file of await fs.readdir(entry).catch(() => [] as string[])) {
        freed += (await fs.stat(path.join(entry, file)).catch(() => ({ size: 0 }))).size;
      }
      await fs.rm(entry, { recursive: true, force: true });
    }
  }
  return freed;
}
