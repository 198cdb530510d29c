/**
 * The C heap: give its freed pages back to the operating system (glibc `malloc_trim(0)`), and
 * read its statistics (glibc `mallinfo2`).
 */
import { nativeAddon, type CHeapStatistics } from './load-addon';

export type { CHeapStatistics } from './load-addon';

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

/**
 * The C heap's own statistics (glibc ≥ 2.33 `mallinfo2`, all arenas): live bytes
 * (`inUseBytes + mappedBytes`) change only with real allocations, unlike the resident size, so
 * they show a native leak (onnxruntime, the addon, ArrayBuffer contents) without the noise of
 * freed pages the allocator keeps or returns. Undefined without the addon or off glibc.
 *
 * @example
 * ```ts
 * import { cHeapStatistics } from '@latentkit/native';
 * const heap = cHeapStatistics();
 * if (heap) console.log(`${((heap.inUseBytes + heap.mappedBytes) / 2 ** 20).toFixed(1)} MB live`);
 * ```
 */
export function cHeapStatistics(): CHeapStatistics | undefined {
  const addon = nativeAddon();
  return addon === undefined ? undefined : addon.cHeapStatistics();
}
