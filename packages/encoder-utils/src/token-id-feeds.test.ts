import { tokenIdData } from './token-id-feeds';

describe('tokenIdData', () => {
  it('lays the rows out row-major in the declared type, padding short rows with 0', () => {
    expect(tokenIdData('int64', [[1, 2, 3], [4]], 3)).toEqual(new BigInt64Array([1n, 2n, 3n, 4n, 0n, 0n]));
    expect(tokenIdData('int32', [[], [7, 8]], 2)).toEqual(new Int32Array([0, 0, 7, 8]));
  });

  it('cuts rows longer than the length', () => {
    expect(tokenIdData('int32', [[1, 2, 3]], 2)).toEqual(new Int32Array([1, 2]));
  });
});
