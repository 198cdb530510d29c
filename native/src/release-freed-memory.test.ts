import { addonLoadResult } from './load-addon';
import { cHeapStatistics, releaseFreedMemory } from './release-freed-memory';

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
