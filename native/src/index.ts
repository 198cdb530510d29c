/**
 * @latentkit/native: fused attention and denoising-step kernels in C++ (AVX-512 / AVX2, all
 * cores) and CUDA, each with a pure-TypeScript twin that serves the call when the addon is not
 * built (or with LATENTKIT_NATIVE=0).
 */
import { addonLoadResult } from './load-addon';

export { multiHeadAttention, multiHeadAttentionAsync, type MultiHeadAttentionOptions } from './multi-head-attention';
export { MAX_HEAD_DIM } from './attention-shape';
export { attentionProbabilities, MAX_PROBABILITY_KEYS } from './attention-probabilities';
export { guidanceStep, type GuidanceStepOptions } from './guidance-step';
export {
  ddimStepCoefficients,
  eulerStepCoefficients,
  eulerAncestralStepCoefficients,
  type StepCoefficients,
} from './scheduler-coefficients';
export { float32ToFloat16, float16ToFloat32 } from './float16';
export { latentsToRgb8, type LatentsToRgb8Options } from './latents-to-rgb8';
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
  /** The loaded addon file. */
  path?: string;
  /** Why the TypeScript twins serve the calls. */
  reason?: string;
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
 * console.log(nativeStatus()); // { native: true, kernel: 'avx512', threads: 2, path: '.../latentkit_native.node' }
 * ```
 */
export function nativeStatus(): NativeStatus {
  const { addon, path, reason } = addonLoadResult();
  if (addon === undefined) return { native: false, reason, kernel: 'typescript', threads: 1 };
  return { native: true, path, kernel: addon.attentionKernel(), threads: addon.describeBuild().threads };
}
