import { addonLoadResult } from './load-addon';
import { releaseFreedMemory } from './release-freed-memory';

// Whether pages were returned depends on the heap's state, so only the contract is tested here;
// the effect is measured in packages/pipeline/README.md ("Memory").
describe('releaseFreedMemory', () => {
  test('returns a boolean; false without the addon or off glibc', () => {
    const result = releaseFreedMemory();
    expect(typeof result).toBe('boolean');
    if (addonLoadResult().addon === undefined || process.platform !== 'linux') expect(result).toBe(false);
  });
});
