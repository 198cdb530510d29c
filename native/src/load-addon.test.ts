import path from 'node:path';
import { addonCandidates, loadAddon } from './load-addon';

describe('loading the addon', () => {
  test('looks in build/Release (then build/Debug) of the package, from src/ and from dist/', () => {
    const packageRoot = path.resolve(__dirname, '..');
    const expected = path.join(packageRoot, 'build', 'Release', 'latentkit_native.node');
    expect(addonCandidates(path.join(packageRoot, 'src'))[0]).toBe(expected);
    expect(addonCandidates(path.join(packageRoot, 'dist'))[0]).toBe(expected);
    expect(addonCandidates()[1]).toContain(path.join('build', 'Debug'));
  });

  test('LATENTKIT_NATIVE=0 chooses the TypeScript twins and says so', () => {
    const result = loadAddon({ LATENTKIT_NATIVE: '0' });
    expect(result.addon).toBeUndefined();
    expect(result.reason).toMatch(/LATENTKIT_NATIVE=0/);
  });

  test('with LATENTKIT_NATIVE=0 the public API serves every call from the twins', () => {
    const saved = process.env.LATENTKIT_NATIVE;
    process.env.LATENTKIT_NATIVE = '0';
    try {
      jest.isolateModules(() => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const api = require('./index') as typeof import('./index');
        expect(api.isNative()).toBe(false);
        expect(api.nativeStatus()).toMatchObject({ native: false, kernel: 'typescript', threads: 1 });
        expect(api.cudaInfo()).toMatchObject({ compiled: false, deviceCount: 0 });
        expect(() => api.cudaMultiHeadAttention(new Float32Array(4), new Float32Array(4), new Float32Array(4), { batch: 1, heads: 1, headDim: 4 }))
          .toThrow(/CUDA needs the native addon/);
        const q = Float32Array.from({ length: 2 * 4 }, (_, i) => Math.sin(i));
        const out = api.multiHeadAttention(q, q, q, { batch: 1, heads: 1, headDim: 4 });
        expect(out.every(Number.isFinite)).toBe(true);
        expect(Array.from(api.float16ToFloat32(api.float32ToFloat16(new Float32Array([1.5, -2]))))).toEqual([1.5, -2]);
      });
    } finally {
      if (saved === undefined) delete process.env.LATENTKIT_NATIVE;
      else process.env.LATENTKIT_NATIVE = saved;
    }
  });

  test('when the addon is built, LATENTKIT_NATIVE=1 loads it; otherwise the error explains how to build it', () => {
    let result: ReturnType<typeof loadAddon> | undefined;
    let error: Error | undefined;
    try {
      result = loadAddon({ LATENTKIT_NATIVE: '1' });
    } catch (caught) {
      error = caught as Error;
    }
    if (error) {
      expect(error.message).toMatch(/could not be loaded .*build:native/s);
    } else {
      expect(result!.addon).toBeDefined();
      expect(result!.path).toMatch(/latentkit_native\.node$/);
    }
  });
});
