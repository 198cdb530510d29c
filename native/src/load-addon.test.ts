import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  addonCandidates,
  currentTarget,
  loadAddon,
  platformPackageName,
  platformTriple,
  PLATFORM_TRIPLES,
  type NativeAddon,
} from './load-addon';

const packageRoot = path.resolve(__dirname, '..');
const linuxX64 = { platform: 'linux', arch: 'x64', libc: 'gnu' as const };

/** A stand-in with every export the loader checks for (the loader never calls them). */
function fakeAddon(tag: string): NativeAddon {
  const names = [
    'describeBuild', 'attentionKernel', 'setSimdLevel', 'multiHeadAttention', 'multiHeadAttentionAsync', 'guidanceStep',
    'float32ToFloat16', 'float16ToFloat32', 'latentsToRgb8', 'cudaInfo', 'cudaMultiHeadAttention',
  ];
  return Object.fromEntries([...names.map((n) => [n, () => tag]), ['tag', tag]]) as unknown as NativeAddon;
}

/**
 * A throwaway @latentkit/native root: package.json at `version`, optionally a platform package
 * (node_modules/@latentkit/native-<triple>) at `platformVersion`, optionally build/Release.
 */
function fakeInstall(options: { version?: string; platformVersion?: string; platformBinary?: boolean; localBuild?: boolean; triple?: string }) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'latentkit-load-addon-'));
  fs.writeFileSync(path.join(root, 'package.json'), JSON.stringify({ name: '@latentkit/native', version: options.version ?? '1.2.3' }));
  const triple = options.triple ?? 'linux-x64-gnu';
  const platformDir = path.join(root, 'node_modules', '@latentkit', `native-${triple}`);
  if (options.platformVersion !== undefined) {
    fs.mkdirSync(platformDir, { recursive: true });
    fs.writeFileSync(path.join(platformDir, 'package.json'), JSON.stringify({ name: `@latentkit/native-${triple}`, version: options.platformVersion, main: './latentkit_native.node' }));
    if (options.platformBinary !== false) fs.writeFileSync(path.join(platformDir, 'latentkit_native.node'), 'platform');
  }
  if (options.localBuild) {
    fs.mkdirSync(path.join(root, 'build', 'Release'), { recursive: true });
    fs.writeFileSync(path.join(root, 'build', 'Release', 'latentkit_native.node'), 'local');
  }
  // The loader requires the file it chose; this records which one, and answers with a stand-in.
  const loaded: string[] = [];
  const requireAddon = (file: string) => {
    loaded.push(file);
    return fakeAddon(fs.readFileSync(file, 'utf8'));
  };
  const cleanup = () => fs.rmSync(root, { recursive: true, force: true });
  return { root, platformDir, loaded, requireAddon, cleanup };
}

describe('where the addon comes from', () => {
  test('platform package names: <platform>-<arch>[-<libc>], and the published ones', () => {
    expect(platformPackageName(linuxX64)).toBe('@latentkit/native-linux-x64-gnu');
    expect(platformPackageName({ platform: 'darwin', arch: 'arm64' })).toBe('@latentkit/native-darwin-arm64');
    expect(platformTriple({ platform: 'linux', arch: 'x64', libc: 'musl' })).toBe('linux-x64-musl');
    expect(PLATFORM_TRIPLES).toEqual(['linux-x64-gnu', 'linux-arm64-gnu', 'darwin-arm64', 'darwin-x64', 'win32-x64']);
    // Each published triple has its package in native/platforms/, with matching os/cpu/libc fields.
    for (const triple of PLATFORM_TRIPLES) {
      const manifest = JSON.parse(fs.readFileSync(path.join(packageRoot, 'platforms', triple, 'package.json'), 'utf8'));
      const [platform, arch, libc] = triple.split('-');
      expect(manifest).toMatchObject({ name: `@latentkit/native-${triple}`, os: [platform], cpu: [arch], files: ['latentkit_native.node'] });
      expect(manifest.libc).toEqual(libc ? ['glibc'] : undefined);
    }
  });

  test('this process: linux reports its C library', () => {
    const target = currentTarget();
    expect(target.platform).toBe(process.platform);
    expect(target.arch).toBe(process.arch);
    if (process.platform === 'linux') expect(['gnu', 'musl']).toContain(target.libc);
  });

  test('local builds: build/Release (then build/Debug) of the package, from src/ and from dist/', () => {
    const expected = path.join(packageRoot, 'build', 'Release', 'latentkit_native.node');
    expect(addonCandidates(path.join(packageRoot, 'src'))[0]).toBe(expected);
    expect(addonCandidates(path.join(packageRoot, 'dist'))[0]).toBe(expected);
    expect(addonCandidates()[1]).toContain(path.join('build', 'Debug'));
  });

  test('order: the platform package first, even when a local build exists', () => {
    const install = fakeInstall({ platformVersion: '1.2.3', localBuild: true });
    try {
      const result = loadAddon({}, { packageRoot: install.root, target: linuxX64, requireAddon: install.requireAddon });
      expect(result.source).toBe('platform-package');
      expect(result.path).toBe(path.join(fs.realpathSync(install.platformDir), 'latentkit_native.node'));
      expect(result.reason).toBe('@latentkit/native-linux-x64-gnu@1.2.3 serves linux-x64-gnu.');
      expect((result.addon as unknown as { tag: string }).tag).toBe('platform');
      expect(install.loaded).toHaveLength(1);
    } finally {
      install.cleanup();
    }
  });

  test('a platform package of another version is refused, with both versions and the fix; the local build serves', () => {
    const install = fakeInstall({ version: '1.2.3', platformVersion: '1.2.2', localBuild: true });
    try {
      const result = loadAddon({}, { packageRoot: install.root, target: linuxX64, requireAddon: install.requireAddon });
      expect(result.source).toBe('local-build');
      expect((result.addon as unknown as { tag: string }).tag).toBe('local');
      // The refused binary is never loaded.
      expect(install.loaded).toEqual([path.join(install.root, 'build', 'Release', 'latentkit_native.node')]);
      expect(result.attempts[0]).toBe(
        '@latentkit/native-linux-x64-gnu: refused, its version is 1.2.2 but @latentkit/native is 1.2.3; ' +
          'the binary must come from the same release (npm install @latentkit/native-linux-x64-gnu@1.2.3)',
      );
      expect(result.reason).toMatch(/^the local build .*latentkit_native\.node serves \(@latentkit\/native-linux-x64-gnu: refused, its version is 1\.2\.2/);
    } finally {
      install.cleanup();
    }
  });

  test('a refused platform package and no local build: the twins, and the message names the version and the build command', () => {
    const install = fakeInstall({ version: '1.2.3', platformVersion: '2.0.0' });
    try {
      const result = loadAddon({}, { packageRoot: install.root, target: linuxX64, requireAddon: install.requireAddon });
      expect(result).toMatchObject({ addon: undefined, source: 'typescript' });
      expect(install.loaded).toEqual([]);
      expect(result.reason).toContain('its version is 2.0.0 but @latentkit/native is 1.2.3');
      expect(result.reason).toContain('install @latentkit/native-linux-x64-gnu@1.2.3');
      expect(result.reason).toContain('`npx latentkit-native-build`');
      expect(result.reason).not.toContain('pnpm --filter');
      expect(() => loadAddon({ LATENTKIT_NATIVE: '1' }, { packageRoot: install.root, target: linuxX64, requireAddon: install.requireAddon }))
        .toThrow(/its version is 2\.0\.0 but @latentkit\/native is 1\.2\.3/);
    } finally {
      install.cleanup();
    }
  });

  test('no platform package installed: the local build serves and says why', () => {
    const install = fakeInstall({ localBuild: true });
    try {
      const result = loadAddon({}, { packageRoot: install.root, target: linuxX64, requireAddon: install.requireAddon });
      expect(result.source).toBe('local-build');
      expect(result.attempts).toEqual([
        '@latentkit/native-linux-x64-gnu: not installed (an optional dependency: npm skips it with --omit=optional or --no-optional)',
      ]);
    } finally {
      install.cleanup();
    }
  });

  test('a platform without a prebuilt package says so; a platform package without its binary, or one that fails to load, falls through', () => {
    const musl = fakeInstall({ triple: 'linux-x64-musl', platformVersion: '1.2.3' });
    const empty = fakeInstall({ platformVersion: '1.2.3', platformBinary: false });
    try {
      const muslResult = loadAddon({}, { packageRoot: musl.root, target: { platform: 'linux', arch: 'x64', libc: 'musl' }, requireAddon: musl.requireAddon });
      expect(muslResult.source).toBe('typescript');
      expect(muslResult.attempts[0]).toMatch(/^@latentkit\/native-linux-x64-musl: no prebuilt binary is published for linux-x64-musl/);
      expect(muslResult.reason).not.toContain('install @latentkit/native-linux-x64-musl');
      expect(muslResult.reason).toContain('npx latentkit-native-build');

      const emptyResult = loadAddon({}, { packageRoot: empty.root, target: linuxX64, requireAddon: empty.requireAddon });
      expect(emptyResult.attempts[0]).toMatch(/^@latentkit\/native-linux-x64-gnu@1\.2\.3: .*latentkit_native\.node does not exist$/);

      const broken = loadAddon({}, {
        packageRoot: musl.root, target: { platform: 'linux', arch: 'x64', libc: 'musl' },
        requireAddon: () => { throw new Error('libstdc++.so.6: version `GLIBCXX_3.4.32\' not found\nmore'); },
      });
      expect(broken.source).toBe('typescript');
    } finally {
      musl.cleanup();
      empty.cleanup();
    }
  });

  test('a file that loads but lacks the addon exports is refused by name', () => {
    const install = fakeInstall({ platformVersion: '1.2.3' });
    try {
      const result = loadAddon({}, { packageRoot: install.root, target: linuxX64, requireAddon: () => ({ describeBuild() {} }) });
      expect(result.source).toBe('typescript');
      expect(result.attempts[0]).toMatch(/is not a latentkit addon of this version \(it lacks attentionKernel, setSimdLevel/);
    } finally {
      install.cleanup();
    }
  });

  test('a load failure is reported with its first line', () => {
    const install = fakeInstall({ platformVersion: '1.2.3' });
    try {
      const result = loadAddon({}, {
        packageRoot: install.root, target: linuxX64,
        requireAddon: () => { throw new Error("/lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.38' not found\n    at Module._extensions"); },
      });
      expect(result.attempts[0]).toMatch(/failed to load: .*GLIBC_2\.38' not found$/);
    } finally {
      install.cleanup();
    }
  });

  test('LATENTKIT_NATIVE_ADDON names the one file to load, before the platform package', () => {
    const install = fakeInstall({ platformVersion: '1.2.3', localBuild: true });
    try {
      const file = path.join(install.root, 'build', 'Release', 'latentkit_native.node');
      const chosen = loadAddon({ LATENTKIT_NATIVE_ADDON: file }, { packageRoot: install.root, target: linuxX64, requireAddon: install.requireAddon });
      expect(chosen).toMatchObject({ source: 'environment', path: file });
      const missing = loadAddon({ LATENTKIT_NATIVE_ADDON: path.join(install.root, 'nope.node') }, { packageRoot: install.root, target: linuxX64, requireAddon: install.requireAddon });
      expect(missing.source).toBe('typescript');
      expect(missing.reason).toMatch(/LATENTKIT_NATIVE_ADDON: .*nope\.node does not exist\)\. Fix or unset LATENTKIT_NATIVE_ADDON\./);
      expect(install.loaded).toEqual([file]);
    } finally {
      install.cleanup();
    }
  });

  test('LATENTKIT_NATIVE=0 chooses the TypeScript twins and says so', () => {
    const result = loadAddon({ LATENTKIT_NATIVE: '0' });
    expect(result).toMatchObject({ addon: undefined, source: 'typescript' });
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
        expect(api.nativeStatus()).toMatchObject({ native: false, source: 'typescript', kernel: 'typescript', threads: 1 });
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

  test('in this repository: when the addon is built, LATENTKIT_NATIVE=1 loads it; otherwise the error names the build command', () => {
    let result: ReturnType<typeof loadAddon> | undefined;
    let error: Error | undefined;
    try {
      result = loadAddon({ LATENTKIT_NATIVE: '1' });
    } catch (caught) {
      error = caught as Error;
    }
    if (error) {
      expect(error.message).toMatch(/could not be loaded .*npx latentkit-native-build/s);
    } else {
      expect(result!.addon).toBeDefined();
      expect(['platform-package', 'local-build']).toContain(result!.source);
      expect(result!.path).toMatch(/latentkit_native\.node$/);
    }
  });
});
