import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { addonLoadResult, currentTarget, platformTriple } from './load-addon';

// scripts/platform-package.js: the platform packages' prepack check and the native build's stage step.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const platformPackage = require('../scripts/platform-package') as {
  currentTriple(): string;
  binaryTarget(file: string): { os: string; cpu: string };
  check(dir: string): string;
};

const nativeRoot = path.resolve(__dirname, '..');
const version = (JSON.parse(fs.readFileSync(path.join(nativeRoot, 'package.json'), 'utf8')) as { version: string }).version;

/** A platform package in a temp folder with the given binary bytes (sibling of nothing: check reads native/package.json for the version). */
function fakePlatformPackage(triple: string, manifest: Record<string, unknown>, binary?: Buffer) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `latentkit-${triple}-`));
  const [platform, arch] = triple.split('-');
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `@latentkit/native-${triple}`, version, os: [platform], cpu: [arch], ...manifest }));
  if (binary) fs.writeFileSync(path.join(dir, 'latentkit_native.node'), binary);
  return dir;
}

/** The first bytes of an ELF shared object for `machine` (0x3e x86-64, 0xb7 aarch64). */
function elfHeader(machine: number): Buffer {
  const bytes = Buffer.alloc(64);
  bytes.writeUInt32BE(0x7f454c46, 0);
  bytes.writeUInt16LE(machine, 18);
  return bytes;
}

describe('platform packages', () => {
  test('the scripts and the loader agree on this machine\'s triple', () => {
    expect(platformPackage.currentTriple()).toBe(platformTriple(currentTarget()));
  });

  test('reads the os/cpu of ELF, Mach-O and PE binaries', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'latentkit-headers-'));
    try {
      const write = (name: string, bytes: Buffer) => {
        fs.writeFileSync(path.join(dir, name), bytes);
        return platformPackage.binaryTarget(path.join(dir, name));
      };
      expect(write('x64.node', elfHeader(0x3e))).toEqual({ os: 'linux', cpu: 'x64' });
      expect(write('arm64.node', elfHeader(0xb7))).toEqual({ os: 'linux', cpu: 'arm64' });
      const macho = Buffer.alloc(32);
      macho.writeUInt32LE(0xfeedfacf, 0);
      macho.writeUInt32LE(0x0100000c, 4);
      expect(write('mac.node', macho)).toEqual({ os: 'darwin', cpu: 'arm64' });
      const pe = Buffer.alloc(256);
      pe.write('MZ', 0, 'latin1');
      pe.writeUInt32LE(0x80, 0x3c);
      pe.writeUInt16LE(0x8664, 0x84);
      expect(write('win.node', pe)).toEqual({ os: 'win32', cpu: 'x64' });
      expect(write('text.node', Buffer.from('not a binary'))).toEqual({ os: 'unknown', cpu: 'unknown' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('prepack refuses a missing binary, a binary for another cpu, and another version, naming each', () => {
    const missing = fakePlatformPackage('linux-arm64-gnu', {});
    const wrongCpu = fakePlatformPackage('linux-arm64-gnu', {}, elfHeader(0x3e));
    const wrongVersion = fakePlatformPackage('linux-x64-gnu', { version: '0.0.1' }, elfHeader(0x3e));
    const good = fakePlatformPackage('linux-x64-gnu', {}, elfHeader(0x3e));
    try {
      expect(() => platformPackage.check(missing)).toThrow(/latentkit_native\.node is missing \(build it on a linux-arm64-gnu machine/);
      expect(() => platformPackage.check(wrongCpu)).toThrow('latentkit_native.node is a linux/x64 binary, but the package is for linux/arm64');
      expect(() => platformPackage.check(wrongVersion)).toThrow(`its version is 0.0.1 but @latentkit/native is ${version}`);
      expect(platformPackage.check(good)).toMatch(new RegExp(`^@latentkit/native-linux-x64-gnu@${version.replace(/\./g, '\\.')}: latentkit_native\\.node is a linux/x64 binary`));
    } finally {
      for (const dir of [missing, wrongCpu, wrongVersion, good]) fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('in this repository, a staged binary matches its package and @latentkit/native\'s version', () => {
    const staged = fs.readdirSync(path.join(nativeRoot, 'platforms')).filter((t) => fs.existsSync(path.join(nativeRoot, 'platforms', t, 'latentkit_native.node')));
    for (const triple of staged) expect(platformPackage.check(path.join(nativeRoot, 'platforms', triple))).toContain(`@latentkit/native-${triple}@${version}`);
    // Where this machine's package holds a binary, the loader serves from it (the build stages every fresh build there).
    if (staged.includes(platformPackage.currentTriple()) && process.env.LATENTKIT_NATIVE !== '0') {
      expect(addonLoadResult()).toMatchObject({ source: 'platform-package' });
    }
  });
});
