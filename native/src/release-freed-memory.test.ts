import { addonLoadResult } from './load-addon';
import { cHeapStatistics, freedMemoryRetentionHolds, releaseFreedMemory, retainFreedMemory } from './release-freed-memory';

// Whether pages were returned depends on the heap's state, so only the contract is tested here;
// the effect is measured in packages/pipeline/README.md ("Memory").
describe('releaseFreedMemory', () => {
  test('returns a boolean; false without the addon or off glibc', () => {
    const result = releaseFreedMemory();
    expect(typeof result).toBe('boolean');
    if (addonLoadResult().addon === undefined || process.platform !== 'linux') expect(result).toBe(false);
  });
});

describe('cHeapStatistics', () => {
  const heap = cHeapStatistics();
  (heap === undefined ? test.skip : test)('counts a native allocation while it lives (glibc)', () => {
    const live = (): number => {
      const h = cHeapStatistics()!;
      return h.inUseBytes + h.mappedBytes;
    };
    expect(heap).toEqual({
      inUseBytes: expect.any(Number), mappedBytes: expect.any(Number), freeBytes: expect.any(Number), arenaBytes: expect.any(Number),
    });
    // An ArrayBuffer's contents are C heap; 64 MB is far above the heap's own movement here.
    const before = live();
    const buffer = new ArrayBuffer(64 * 2 ** 20);
    expect(live() - before).toBeGreaterThanOrEqual(56 * 2 ** 20); // other threads may free a little meanwhile
    expect(buffer.byteLength).toBe(64 * 2 ** 20);
  });
  if (heap === undefined) console.warn('release-freed-memory.test: cHeapStatistics untested (no addon, or not glibc ≥ 2.33)');
});

describe('retainFreedMemory', () => {
  const glibc = cHeapStatistics() !== undefined && addonLoadResult().addon?.setFreedMemoryRetention !== undefined;
  // Every buffer stays alive to the end, so that no collection of an earlier one shrinks the count.
  const alive: ArrayBuffer[] = [];
  // How much of a new block glibc serves from its heaps (in use) rather than a mapping of its own.
  // A collection meanwhile can only free earlier blocks, which lowers this, never raises it.
  const heapGrowthFor = (bytes: number): number => {
    const before = cHeapStatistics()!.inUseBytes;
    alive.push(new ArrayBuffer(bytes));
    return cHeapStatistics()!.inUseBytes - before;
  };
  afterAll(() => alive.splice(0));

  test('holds nest and end once each', () => {
    const first = retainFreedMemory();
    const second = retainFreedMemory();
    expect(freedMemoryRetentionHolds()).toBe(glibc ? 2 : 0);
    first();
    first(); // a second call of the same release changes nothing
    expect(freedMemoryRetentionHolds()).toBe(glibc ? 1 : 0);
    second();
    expect(freedMemoryRetentionHolds()).toBe(0);
  });

  (glibc ? test : test.skip)('while held, a large block comes from the heap instead of a mapping of its own (glibc)', () => {
    // 48 MB is above glibc's largest mmap threshold (32 MiB), so by default it is mapped alone.
    expect(heapGrowthFor(48 * 2 ** 20)).toBeLessThan(8 * 2 ** 20);
    const release = retainFreedMemory();
    try {
      expect(heapGrowthFor(48 * 2 ** 20)).toBeGreaterThanOrEqual(40 * 2 ** 20); // other threads may free a little meanwhile
    } finally {
      release();
    }
    expect(heapGrowthFor(48 * 2 ** 20)).toBeLessThan(8 * 2 ** 20);
  });
  if (!glibc) console.warn('release-freed-memory.test: retainFreedMemory\'s effect untested (no addon, or not glibc)');
});
