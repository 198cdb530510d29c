/**
 * Finds and loads the compiled addon, or explains in one message why it could not, so that every
 * entry point can fall back to its TypeScript twin. Tried in order:
 *
 * 1. `LATENTKIT_NATIVE_ADDON=/path/to/latentkit_native.node`, when set (and then nothing else);
 * 2. the prebuilt platform package, `@latentkit/native-<platform>-<arch>[-<libc>]` (an optional
 *    dependency of this package; npm installs only the one whose `os`/`cpu`/`libc` match), refused
 *    unless its version is exactly this package's;
 * 3. a local build, `build/Release` (then `build/Debug`) of this package (`npx latentkit-native-build`);
 * 4. none: the pure-TypeScript twins serve, and the reason lists every candidate and why it failed.
 */
import path from 'node:path';
import fs from 'node:fs';

/** The raw functions the addon exports; the typed wrappers in this package assemble their arguments. */
export interface NativeAddon {
  /** `pendingAsyncCalls`: asynchronous calls of this environment (thread) not yet settled. */
  describeBuild(): { simd: string; detectedSimd: string; f16c: boolean; threads: number; pendingAsyncCalls: number };
  attentionKernel(): string;
  setSimdLevel(level: SimdLevel): SimdLevel;
  /** Test and benchmark knob: how long key sequences run (src/attention.h). Optional: older builds lack it. */
  setAttentionPath?(path: 'auto' | 'packed' | 'in-place'): string;
  releaseFreedMemory(): boolean;
  cHeapStatistics(): CHeapStatistics | undefined;
  /** Absent from addons built before 0.2 (the platform package may lag a local build). */
  setFreedMemoryRetention?(retain: boolean): boolean;
  multiHeadAttention(...args: AttentionArguments): Float32Array;
  /** As multiHeadAttention, but `output` may be null (the addon then allocates the result). */
  multiHeadAttentionAsync(...args: AsyncAttentionArguments): Promise<Float32Array>;
  /**
   * (query, key, output [batch·Nq·Nk], keyMask, batch, heads, headDim, scale): head-averaged
   * probabilities. Optional: a build from source that predates it lacks it, and the TypeScript
   * twin serves `attentionProbabilities` then.
   */
  attentionProbabilities?(
    query: Float32Array, key: Float32Array, output: Float32Array, keyMask: Uint8Array | null,
    batch: number, heads: number, headDim: number, scale: number,
  ): Float32Array;
  guidanceStep(
    output: Float32Array,
    guidedOutput: Float32Array | null,
    sample: Float32Array,
    uncond: Float32Array,
    cond: Float32Array | null,
    noise: Float32Array | null,
    guidanceScale: number,
    sampleCoefficient: number,
    predictionCoefficient: number,
    noiseCoefficient: number,
  ): Float32Array;
  float32ToFloat16(input: Float32Array, output: Uint16Array): Uint16Array;
  float16ToFloat32(input: Uint16Array, output: Float32Array): Float32Array;
  latentsToRgb8(image: Float32Array, output: Uint8Array, batch: number, height: number, width: number): Uint8Array;
  cudaInfo(): { compiled: boolean; runtimeVersion: number; deviceCount: number; devices: CudaDeviceDescription[]; error?: string };
  cudaMultiHeadAttention<T extends Float32Array | Uint16Array>(
    query: T, key: T, value: T, output: T, keyMask: Uint8Array | null,
    batch: number, heads: number, headDim: number, scale: number,
  ): T;
}

/** The instruction sets the native kernels are compiled for. */
export type SimdLevel = 'avx512' | 'avx2' | 'scalar';

/** (query, key, value, output, keyMask, batch, heads, headDim, scale) */
export type AttentionArguments = [
  Float32Array, Float32Array, Float32Array, Float32Array, Uint8Array | null, number, number, number, number,
];

/** (query, key, value, output | null, keyMask, batch, heads, headDim, scale) */
export type AsyncAttentionArguments = [
  Float32Array, Float32Array, Float32Array, Float32Array | null, Uint8Array | null, number, number, number, number,
];

/** The C heap as glibc counts it (`mallinfo2`), in bytes. */
export interface CHeapStatistics {
  /** Allocated and not freed, in the allocator's arenas. */
  inUseBytes: number;
  /** Allocated and not freed, in separately mapped blocks (large allocations). */
  mappedBytes: number;
  /** Freed but still held by the arenas (what `releaseFreedMemory` may give back). */
  freeBytes: number;
  /** Total size of the arenas. */
  arenaBytes: number;
}

/** One CUDA device as the runtime reports it. */
export interface CudaDeviceDescription {
  name: string;
  computeCapability: string;
  totalMemory: number;
}

/** Which candidate serves the calls. */
export type AddonSource = 'environment' | 'platform-package' | 'local-build' | 'typescript';

/** Whether the addon serves the calls, which one, and why. */
export interface AddonLoadResult {
  addon: NativeAddon | undefined;
  /** Where the serving implementation comes from ('typescript' when no addon loaded). */
  source: AddonSource;
  /** The file that was loaded. */
  path?: string;
  /** Why this implementation serves: the candidate that loaded, or every failure and the fix. */
  reason: string;
  /** Each candidate tried, in order, and what happened (`<candidate>: <outcome>`). */
  attempts: string[];
}

/** An operating system, CPU architecture and C library, as in the platform packages' names. */
export interface PlatformTarget {
  platform: string;
  arch: string;
  /** Linux only: 'gnu' (glibc) or 'musl'. */
  libc?: 'gnu' | 'musl';
}

/** The targets a prebuilt platform package exists for (`native/platforms/<triple>`). */
export const PLATFORM_TRIPLES: readonly string[] = ['linux-x64-gnu', 'linux-arm64-gnu', 'darwin-arm64', 'darwin-x64', 'win32-x64'];

/** The command that builds the addon from source in a user's project (shipped as this package's bin). */
export const BUILD_FROM_SOURCE_COMMAND = 'npx latentkit-native-build';

/** The file name of the compiled addon, in the platform packages and in build/<config>/. */
export const ADDON_FILE = 'latentkit_native.node';

/** The functions every build of the addon exports; a file lacking one is refused. */
const REQUIRED_EXPORTS = [
  'describeBuild', 'attentionKernel', 'setSimdLevel', 'multiHeadAttention', 'multiHeadAttentionAsync', 'guidanceStep',
  'float32ToFloat16', 'float16ToFloat32', 'latentsToRgb8', 'cudaInfo', 'cudaMultiHeadAttention',
] as const;

/**
 * This process's target: `process.platform`, `process.arch`, and on Linux the C library (glibc
 * when the process report names a glibc runtime, musl otherwise).
 *
 * @example
 * ```ts
 * currentTarget(); // { platform: 'linux', arch: 'x64', libc: 'gnu' }
 * ```
 */
export function currentTarget(): PlatformTarget {
  if (process.platform !== 'linux') return { platform: process.platform, arch: process.arch };
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return { platform: 'linux', arch: process.arch, libc: header?.glibcVersionRuntime ? 'gnu' : 'musl' };
}

/**
 * The platform triple and the package that carries the prebuilt addon for it.
 *
 * @example
 * ```ts
 * platformPackageName({ platform: 'linux', arch: 'x64', libc: 'gnu' }); // '@latentkit/native-linux-x64-gnu'
 * ```
 */
export function platformPackageName(target: PlatformTarget): string {
  return `@latentkit/native-${platformTriple(target)}`;
}

/** `<platform>-<arch>[-<libc>]`, e.g. 'linux-x64-gnu', 'darwin-arm64', 'win32-x64'. */
export function platformTriple(target: PlatformTarget): string {
  return [target.platform, target.arch, ...(target.libc ? [target.libc] : [])].join('-');
}

/**
 * Where a local build of the addon may be, relative to this file (src/ under jest, dist/ once built).
 *
 * @example
 * ```ts
 * addonCandidates(); // ['<package>/build/Release/latentkit_native.node', '<package>/build/Debug/latentkit_native.node']
 * ```
 */
export function addonCandidates(fromDirectory: string = __dirname): string[] {
  const packageRoot = path.resolve(fromDirectory, '..');
  return ['Release', 'Debug'].map((config) => path.join(packageRoot, 'build', config, ADDON_FILE));
}

/** How {@link loadAddon} finds things; every field defaults to this process and this package. */
export interface LoadAddonOptions {
  /** The target whose platform package is looked for (default {@link currentTarget}). */
  target?: PlatformTarget;
  /** The root of @latentkit/native: platform packages resolve from here, local builds live under it. */
  packageRoot?: string;
  /** The version a platform package must have (default: this package's own version). */
  version?: string;
  /** Loads one addon file (default `require`). */
  requireAddon?: (file: string) => unknown;
}

/**
 * Tries each candidate in order (see the file comment); never throws unless LATENTKIT_NATIVE=1
 * demands the addon.
 *
 * @example
 * ```ts
 * const { addon, source, reason } = loadAddon();
 * console.log(source, reason); // 'platform-package', '@latentkit/native-linux-x64-gnu@0.1.0 serves linux-x64-gnu'
 * ```
 */
export function loadAddon(environment: NodeJS.ProcessEnv = process.env, options: LoadAddonOptions = {}): AddonLoadResult {
  if (environment.LATENTKIT_NATIVE === '0') {
    return { addon: undefined, source: 'typescript', reason: 'LATENTKIT_NATIVE=0 selects the pure-TypeScript twins.', attempts: [] };
  }
  const packageRoot = options.packageRoot ?? path.resolve(__dirname, '..');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const requireAddon = options.requireAddon ?? ((file: string) => require(file) as unknown);
  const attempts: string[] = [];
  const tryFile = (file: string, label: string): NativeAddon | undefined => {
    if (!fs.existsSync(file)) {
      attempts.push(`${label}: ${file} does not exist`);
      return undefined;
    }
    try {
      const addon = requireAddon(file) as Partial<NativeAddon> | undefined;
      const missing = REQUIRED_EXPORTS.filter((name) => typeof addon?.[name] !== 'function');
      if (missing.length > 0) {
        attempts.push(`${label}: ${file} is not a latentkit addon of this version (it lacks ${missing.join(', ')})`);
        return undefined;
      }
      return addon as NativeAddon;
    } catch (error) {
      attempts.push(`${label}: ${file} failed to load: ${(error as Error).message.split('\n')[0]}`);
      return undefined;
    }
  };

  // 1. An explicit file wins, and nothing else is tried: the user asked for that binary.
  const explicit = environment.LATENTKIT_NATIVE_ADDON;
  if (explicit) {
    const file = path.resolve(explicit);
    const addon = tryFile(file, 'LATENTKIT_NATIVE_ADDON');
    if (addon) return { addon, source: 'environment', path: file, reason: `LATENTKIT_NATIVE_ADDON=${explicit} selects ${file}.`, attempts };
    return fail(environment, attempts, 'Fix or unset LATENTKIT_NATIVE_ADDON.');
  }

  // 2. The prebuilt platform package, exactly this version.
  const target = options.target ?? currentTarget();
  const triple = platformTriple(target);
  const name = platformPackageName(target);
  const version = options.version ?? readVersion(path.join(packageRoot, 'package.json'));
  if (!PLATFORM_TRIPLES.includes(triple)) {
    attempts.push(`${name}: no prebuilt binary is published for ${triple} (prebuilt: ${PLATFORM_TRIPLES.join(', ')})`);
  } else {
    const manifest = resolvePackageJson(name, packageRoot);
    if (manifest === undefined) {
      attempts.push(`${name}: not installed (an optional dependency: npm skips it with --omit=optional or --no-optional)`);
    } else {
      const found = readVersion(manifest);
      if (found !== version) {
        attempts.push(
          `${name}: refused, its version is ${found} but @latentkit/native is ${version}; the binary must come from the same release ` +
            `(npm install ${name}@${version})`,
        );
      } else {
        const file = path.join(path.dirname(manifest), ADDON_FILE);
        const addon = tryFile(file, `${name}@${found}`);
        if (addon) {
          return { addon, source: 'platform-package', path: file, reason: `${name}@${found} serves ${triple}.`, attempts };
        }
      }
    }
  }

  // 3. A local build of this package (from source, or in the repository).
  for (const file of addonCandidates(path.join(packageRoot, 'src'))) {
    const addon = tryFile(file, 'local build');
    if (addon) {
      const why = attempts.length > 0 ? ` (${attempts.join('; ')})` : '';
      return { addon, source: 'local-build', path: file, reason: `the local build ${file} serves${why}.`, attempts };
    }
  }
  const install = PLATFORM_TRIPLES.includes(triple) ? `install ${name}@${version} (npm installs it with @latentkit/native unless optional dependencies are omitted) or ` : '';
  return fail(environment, attempts, `To use the addon, ${install}build it from source with \`${BUILD_FROM_SOURCE_COMMAND}\` (needs cmake ≥ 3.18 and a C++17 compiler).`);
}

function fail(environment: NodeJS.ProcessEnv, attempts: string[], fix: string): AddonLoadResult {
  const reason =
    `@latentkit/native: the native addon could not be loaded (${attempts.join('; ')}). ${fix} ` +
    'Until then the pure-TypeScript twins serve every call with the same results, more slowly. ' +
    'Set LATENTKIT_NATIVE=0 to choose the twins and silence this warning.';
  if (environment.LATENTKIT_NATIVE === '1') throw new Error(reason);
  return { addon: undefined, source: 'typescript', reason, attempts };
}

function readVersion(manifest: string): string {
  return String((JSON.parse(fs.readFileSync(manifest, 'utf8')) as { version?: unknown }).version);
}

/**
 * `<name>/package.json` in the node_modules folders from `from` up to the file system's root —
 * where npm, pnpm and yarn put a package's (optional) dependencies. Unlike require.resolve, it
 * ignores NODE_PATH and the global folders, so a package elsewhere on the machine (pnpm puts every
 * workspace package on NODE_PATH for the scripts it runs) is not taken for an installed one.
 */
function resolvePackageJson(name: string, from: string): string | undefined {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'node_modules', ...name.split('/'), 'package.json');
    if (fs.existsSync(manifest)) return fs.realpathSync(manifest);
    if (path.dirname(dir) === dir) return undefined;
  }
}

let loaded: AddonLoadResult | undefined;
let warned = false;

/**
 * The addon for this process, loaded on first use; warns once when it is missing.
 *
 * @example
 * ```ts
 * const addon = nativeAddon();
 * if (addon) addon.guidanceStep(out, null, sample, uncond, cond, null, 7.5, 1, -0.4, 0);
 * ```
 */
export function nativeAddon(): NativeAddon | undefined {
  loaded ??= loadAddon();
  if (loaded.addon === undefined && !warned && process.env.LATENTKIT_NATIVE !== '0') {
    warned = true;
    process.emitWarning(loaded.reason, { code: 'LATENTKIT_NATIVE_UNAVAILABLE' });
  }
  return loaded.addon;
}

/**
 * The load result for this process (loads the addon if no call has yet); never warns.
 *
 * @example
 * ```ts
 * const { addon, source, reason } = addonLoadResult();
 * ```
 */
export function addonLoadResult(): AddonLoadResult {
  loaded ??= loadAddon();
  return loaded;
}
