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

let retentionHolds = 0;

/**
 * Keeps freed C-heap memory mapped for reuse until the returned function is called: glibc then
 * serves large blocks from its heaps instead of a fresh mapping each (no page faults on every
 * run of an onnxruntime session that has no arena of its own) and does not hand freed memory
 * back. The partitioned UNet (`@latentkit/unet`, native attention) holds it while loaded: its
 * segment sessions run without per-session arenas, and measured on the SD 1.5-size UNet at 512²
 * this took a call from 47–62 s to 29–35 s and its load from 145 s to 54 s on a loaded 2-core
 * machine, for 0.3 GB more peak memory (one shared high-water mark instead of none).
 *
 * Holds nest: glibc's defaults come back (and freed pages are returned with `malloc_trim`) when
 * the last one ends. Process-wide. Where the C library is not glibc, or without the addon, it
 * changes nothing and the returned function does nothing; so the TypeScript path gives the same
 * results, only without the reuse.
 *
 * @example
 * ```ts
 * import { retainFreedMemory } from '@latentkit/native';
 * const release = retainFreedMemory();
 * try { await runManySessions(); } finally { release(); }
 * ```
 */
export function retainFreedMemory(): () => void {
  const addon = nativeAddon();
  if (addon?.setFreedMemoryRetention === undefined) return () => undefined;
  if (retentionHolds === 0) addon.setFreedMemoryRetention(true);
  retentionHolds++;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    retentionHolds--;
    if (retentionHolds === 0) addon.setFreedMemoryRetention?.(false);
  };
}

/** How many {@link retainFreedMemory} holds are active (for tests and diagnostics). */
export function freedMemoryRetentionHolds(): number {
  return retentionHolds;
}
