/**
 * Finds and loads the compiled addon (`build/Release/latentkit_native.node`), or explains in one
 * message why it could not, so that every entry point can fall back to its TypeScript twin.
 */
import path from 'node:path';
import fs from 'node:fs';

/** The raw functions the addon exports; the typed wrappers in this package assemble their arguments. */
export interface NativeAddon {
  /** `pendingAsyncCalls`: asynchronous calls of this environment (thread) not yet settled. */
  describeBuild(): { simd: string; detectedSimd: string; f16c: boolean; threads: number; pendingAsyncCalls: number };
  attentionKernel(): string;
  setSimdLevel(level: SimdLevel): SimdLevel;
  releaseFreedMemory(): boolean;
  cHeapStatistics(): CHeapStatistics | undefined;
  multiHeadAttention(...args: AttentionArguments): Float32Array;
  /** As multiHeadAttention, but `output` may be null (the addon then allocates the result). */
  multiHeadAttentionAsync(...args: AsyncAttentionArguments): Promise<Float32Array>;
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

/** Whether the addon serves the calls, and if not, why. */
export interface AddonLoadResult {
  addon: NativeAddon | undefined;
  /** The file that was loaded. */
  path?: string;
  /** Why the addon is not in use (absent when it is). */
  reason?: string;
}

const BUILD_HINT =
  'Build it with `pnpm --filter @latentkit/native build:native` (needs cmake ≥ 3.18 and a C++17 compiler); ' +
  'until then the pure-TypeScript twins serve every call with the same results, more slowly. ' +
  'Set LATENTKIT_NATIVE=0 to choose the twins and silence this warning.';

/**
 * Where the built addon may be, relative to this file (src/ under jest, dist/ once built).
 *
 * @example
 * ```ts
 * addonCandidates(); // ['<package>/build/Release/latentkit_native.node', '<package>/build/Debug/latentkit_native.node']
 * ```
 */
export function addonCandidates(fromDirectory: string = __dirname): string[] {
  const packageRoot = path.resolve(fromDirectory, '..');
  return ['Release', 'Debug'].map((config) => path.join(packageRoot, 'build', config, 'latentkit_native.node'));
}

/**
 * Tries each candidate; never throws unless LATENTKIT_NATIVE=1 demands the addon.
 *
 * @example
 * ```ts
 * const { addon, reason } = loadAddon();
 * if (!addon) console.log(reason);
 * ```
 */
export function loadAddon(environment: NodeJS.ProcessEnv = process.env): AddonLoadResult {
  if (environment.LATENTKIT_NATIVE === '0') {
    return { addon: undefined, reason: 'LATENTKIT_NATIVE=0 selects the pure-TypeScript twins.' };
  }
  const failures: string[] = [];
  for (const candidate of addonCandidates()) {
    if (!fs.existsSync(candidate)) {
      failures.push(`${candidate}: not built`);
      continue;
    }
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const addon = require(candidate) as NativeAddon;
      return { addon, path: candidate };
    } catch (error) {
      failures.push(`${candidate}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  const reason = `@latentkit/native: the native addon could not be loaded (${failures.join('; ')}). ${BUILD_HINT}`;
  if (environment.LATENTKIT_NATIVE === '1') throw new Error(reason);
  return { addon: undefined, reason };
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
    process.emitWarning(loaded.reason!, { code: 'LATENTKIT_NATIVE_UNAVAILABLE' });
  }
  return loaded.addon;
}

/**
 * The load result for this process (loads the addon if no call has yet); never warns.
 *
 * @example
 * ```ts
 * const { addon, reason } = addonLoadResult();
 * ```
 */
export function addonLoadResult(): AddonLoadResult {
  loaded ??= loadAddon();
  return loaded;
}
