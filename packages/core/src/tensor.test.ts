import { InvalidArgumentError } from './errors';
import {
  assertShape,
  concatBatch,
  createTensor,
  formatDims,
  fromOrtFloat32,
  fromOrtTensor,
  numel,
  repeatInterleaveBatch,
  splitBatch,
  toOrtTensor,
  zeros,
} from './tensor';

describe('tensor helpers', () => {
  it('creates tensors and refuses a data length that does not match the shape', () => {
    const t = createTensor([2, 3], new Float32Array(6));
    expect(t.dims).toEqual([2, 3]);
    expect(numel([1, 4, 8, 8])).toBe(256);
    expect(() => createTensor([2, 3], new Float32Array(5))).toThrow('data must be 6 elements for shape [2, 3], got Float32Array(5): it has 5');
    expect(() => createTensor([2, -1], new Float32Array(0))).toThrow(InvalidArgumentError);
  });

  it('checks shapes with wildcards and names the argument', () => {
    const t = zeros([1, 4, 8, 8]);
    expect(() => assertShape('sample', t, [null, 4, 8, 8])).not.toThrow();
    expect(() => assertShape('sample', t, [1, 9, 8, 8])).toThrow('sample must be a tensor of shape [1, 9, 8, 8], got "[1, 4, 8, 8]"');
    expect(formatDims([null, 77, 768])).toBe('[?, 77, 768]');
  });

  it('concatenates and splits on the batch axis', () => {
    const a = createTensor([1, 2], Float32Array.from([1, 2]));
    const b = createTensor([2, 2], Float32Array.from([3, 4, 5, 6]));
    const c = concatBatch([a, b]);
    expect(c.dims).toEqual([3, 2]);
    expect(Array.from(c.data)).toEqual([1, 2, 3, 4, 5, 6]);
    const [x, y] = splitBatch(createTensor([2, 2], Float32Array.from([1, 2, 3, 4])), 2);
    expect(Array.from(x!.data)).toEqual([1, 2]);
    expect(Array.from(y!.data)).toEqual([3, 4]);
    expect(() => splitBatch(c, 2)).toThrow('parts must be a divisor of the batch size 3');
    expect(() => concatBatch([a, createTensor([1, 3], new Float32Array(3))])).toThrow('tensors[1] must be a tensor of shape [?, 2]');
  });

  it('repeats batch entries in place order', () => {
    const t = createTensor([2, 1], Float32Array.from([7, 8]));
    expect(Array.from(repeatInterleaveBatch(t, 2).data)).toEqual([7, 7, 8, 8]);
  });

  it('converts to and from onnxruntime-shaped tensors without copying', () => {
    class FakeOrtTensor {
      constructor(readonly type: string, readonly data: unknown, readonly dims: readonly number[]) {}
    }
    const t = createTensor([2], Float32Array.from([1, 2]));
    const ort = toOrtTensor(FakeOrtTensor, t);
    expect(ort.type).toBe('float32');
    expect(ort.data).toBe(t.data);
    expect(fromOrtTensor(ort).data).toBe(t.data);
    expect(toOrtTensor(FakeOrtTensor, createTensor([1], new Int32Array(1))).type).toBe('int32');
    expect(() => fromOrtFloat32({ type: 'int64', dims: [1], data: new BigInt64Array(1) }, 'out_sample')).toThrow(
      'out_sample must be a float32 tensor, got "int64"',
    );
  });
});
