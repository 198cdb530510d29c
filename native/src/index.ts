/**
 * @latentkit/native: fused attention, float16 and image-conversion kernels in C++ (AVX-512 / AVX2,
 * all cores) and CUDA, each with a pure-TypeScript twin that serves the call when the addon is not
 * available (or with LATENTKIT_NATIVE=0). The addon comes from the prebuilt platform package
 * `@latentkit/native-<platform>-<arch>[-<libc>]`, else a build from source (`npx latentkit-native-build`).
 * (The fused guidance + scheduler step lives in bench/: it is measured there, not used by the
 * generation path.)
 */
import { addonLoadResult, type AddonSource } from './load-addon';

export { multiHeadAttention, multiHeadAttentionAsync, type MultiHeadAttentionOptions } from './multi-head-attention';
export { MAX_HEAD_DIM } from './attention-shape';
export { attentionProbabilities, MAX_PROBABILITY_KEYS } from './attention-probabilities';
export { float32ToFloat16, float16ToFloat32 } from './float16';
export { latentsToRgb8, type LatentsToRgb8Options } from './latents-to-rgb8';
export { releaseFreedMemory, cHeapStatistics, retainFreedMemory, freedMemoryRetentionHolds, type CHeapStatistics } from './release-freed-memory';
export {
  currentTarget,
  platformPackageName,
  PLATFORM_TRIPLES,
  BUILD_FROM_SOURCE_COMMAND,
  type AddonSource,
  type PlatformTarget,
} from './load-addon';
export { cudaInfo, cudaMultiHeadAttention, type CudaInfo, type CudaMultiHeadAttentionOptions, type CudaDeviceDescription } from './cuda';

/**
 * True when the compiled addon (not the TypeScript twins) serves the calls.
 *
 * @example
 * ```ts
 * import { isNative, nativeStatus } from '@latentkit/native';
 * if (!isNative()) console.warn(nativeStatus().reason);
 * ```
 */
export function isNative(): boolean {
  return addonLoadResult().addon !== undefined;
}

/** Which implementation serves the calls, and why. */
export interface NativeStatus {
  native: boolean;
  /**
   * Which implementation serves: the prebuilt 'platform-package', a 'local-build' (from source),
   * the file LATENTKIT_NATIVE_ADDON names ('environment'), or the 'typescript' twins.
   */
  source: AddonSource;
  /** The loaded addon file. */
  path?: string;
  /** Why this implementation serves: the package that loaded, or each candidate's failure and the fix. */
  reason: string;
  /** The attention kernel in use: 'avx512', 'avx2', 'scalar' (native) or 'typescript'. */
  kernel: string;
  /** Threads the native kernels use (LATENTKIT_THREADS, else all cores); 1 for the twins. */
  threads: number;
}

/**
 * Describes the implementation in use.
 *
 * @example
 * ```ts
 * import { nativeStatus } from '@latentkit/native';
 * console.log(nativeStatus());
 * // { native: true, source: 'platform-package', reason: '@latentkit/native-linux-x64-gnu@0.1.0 serves linux-x64-gnu.',
 * //   path: '.../node_modules/@latentkit/native-linux-x64-gnu/latentkit_native.node', kernel: 'avx512', threads: 2 }
 * ```
 */
export function nativeStatus(): NativeStatus {
  const { addon, source, path, reason } = addonLoadResult();
  if (addon === undefined) return { native: false, source, reason, kernel: 'typescript', threads: 1 };
  return { native: true, source, reason, path, kernel: addon.attentionKernel(), threads: addon.describeBuild().threads };
}
