/**
 * Returns the C heap's freed pages to the operating system (glibc `malloc_trim(0)`).
 */
import { nativeAddon } from './load-addon';

/**
 * Asks the C allocator to give freed heap memory back to the operating system. glibc keeps the
 * memory of freed allocations mapped for reuse; after onnxruntime sessions are released (a
 * pipeline disposed) that is tens of MB of resident memory that no object uses. Call it after
 * `dispose()` when the process lives on; it costs a walk over the heap (about a millisecond per
 * 100 MB). Returns true when memory was released, false when there was none to release, on C
 * libraries other than glibc, and without the native addon.
 *
 * @example
 * ```ts
 * import { releaseFreedMemory } from '@latentkit/native';
 * await pipeline.dispose();
 * releaseFreedMemory();
 * ```
 */
export function releaseFreedMemory(): boolean {
  const addon = nativeAddon();
  return addon === undefined ? false : addon.releaseFreedMemory();
}
