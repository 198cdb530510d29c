#!/usr/bin/env node
'use strict';
/**
 * The prebuilt platform packages (native/platforms/<triple>/, published as
 * @latentkit/native-<triple>): put a built addon into one, and check one before it is packed.
 *
 *   node scripts/platform-package.js stage [--triple linux-x64-gnu] [--from build/Release/latentkit_native.node]
 *   node scripts/platform-package.js check [<platform package dir>]   (the packages' prepack; default: cwd)
 *
 * `stage` copies the addon into the platform package of this machine (or --triple); the native
 * build runs it after every successful build, so `pnpm build` leaves the package ready to pack.
 * `check` refuses a package whose binary is missing, is not a native library for the package's
 * os/cpu, or whose version differs from @latentkit/native's (they are released together).
 */
const fs = require('node:fs');
const path = require('node:path');

const packageDir = path.resolve(__dirname, '..');
const ADDON_FILE = 'latentkit_native.node';

/** This process's `<platform>-<arch>[-<libc>]`, as the loader (src/load-addon.ts) computes it. */
function currentTriple() {
  if (process.platform !== 'linux') return `${process.platform}-${process.arch}`;
  const header = process.report && process.report.getReport().header;
  return `linux-${process.arch}-${header && header.glibcVersionRuntime ? 'gnu' : 'musl'}`;
}

/** The os/cpu a binary is for, read from its header (ELF, Mach-O or PE), or a description of what it is. */
function binaryTarget(file) {
  const bytes = fs.readFileSync(file);
  if (bytes.length >= 20 && bytes.readUInt32BE(0) === 0x7f454c46) {
    const machine = bytes.readUInt16LE(18);
    return { os: 'linux', cpu: { 0x3e: 'x64', 0xb7: 'arm64' }[machine] ?? `ELF machine 0x${machine.toString(16)}` };
  }
  if (bytes.length >= 8 && bytes.readUInt32LE(0) === 0xfeedfacf) {
    const cpu = bytes.readUInt32LE(4);
    return { os: 'darwin', cpu: { 0x01000007: 'x64', 0x0100000c: 'arm64' }[cpu] ?? `Mach-O cputype 0x${cpu.toString(16)}` };
  }
  if (bytes.length >= 64 && bytes.toString('latin1', 0, 2) === 'MZ') {
    const pe = bytes.readUInt32LE(0x3c);
    const machine = bytes.length >= pe + 6 ? bytes.readUInt16LE(pe + 4) : -1;
    return { os: 'win32', cpu: { 0x8664: 'x64', 0xaa64: 'arm64' }[machine] ?? `PE machine 0x${machine.toString(16)}` };
  }
  return { os: 'unknown', cpu: 'unknown' };
}

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

function option(argv, name) {
  const index = argv.indexOf(name);
  return index >= 0 ? argv[index + 1] : undefined;
}

/** Copies the built addon into platforms/<triple>/; returns the destination, or undefined when there is no such package. */
function stage({ triple = currentTriple(), from = path.join(packageDir, 'build', 'Release', ADDON_FILE), quiet = false } = {}) {
  const target = path.join(packageDir, 'platforms', triple);
  if (!fs.existsSync(path.join(target, 'package.json'))) {
    if (!quiet) console.log(`@latentkit/native: no platform package for ${triple} (native/platforms/${triple}); nothing staged.`);
    return undefined;
  }
  if (!fs.existsSync(from)) throw new Error(`@latentkit/native: cannot stage ${from}: it does not exist; build the addon first (node scripts/build-native.js --strict).`);
  const destination = path.join(target, ADDON_FILE);
  fs.copyFileSync(from, destination);
  if (!quiet) console.log(`@latentkit/native: staged ${path.relative(process.cwd(), from) || from} → ${path.relative(process.cwd(), destination)} (${(fs.statSync(destination).size / 1048576).toFixed(1)} MiB)`);
  return destination;
}

/** Throws with what is wrong and the fix when the platform package in `dir` must not be packed. */
function check(dir) {
  const manifest = readJson(path.join(dir, 'package.json'));
  const native = readJson(path.join(packageDir, 'package.json'));
  const triple = manifest.name.replace('@latentkit/native-', '');
  const problems = [];
  if (manifest.version !== native.version) {
    problems.push(`its version is ${manifest.version} but @latentkit/native is ${native.version} (they are a changesets "fixed" group; run \`changeset version\`)`);
  }
  const file = path.join(dir, ADDON_FILE);
  if (!fs.existsSync(file)) {
    problems.push(`${ADDON_FILE} is missing (build it on a ${triple} machine: node native/scripts/prebuild.js, or stage it: node native/scripts/platform-package.js stage --triple ${triple} --from <file>)`);
  } else {
    const found = binaryTarget(file);
    if (found.os !== manifest.os[0] || found.cpu !== manifest.cpu[0]) {
      problems.push(`${ADDON_FILE} is a ${found.os}/${found.cpu} binary, but the package is for ${manifest.os[0]}/${manifest.cpu[0]}`);
    }
  }
  if (problems.length > 0) throw new Error(`${manifest.name} cannot be packed: ${problems.join('; ')}.`);
  return `${manifest.name}@${manifest.version}: ${ADDON_FILE} is a ${manifest.os[0]}/${manifest.cpu[0]} binary of ${(fs.statSync(file).size / 1048576).toFixed(1)} MiB`;
}

module.exports = { currentTriple, binaryTarget, stage, check, ADDON_FILE };

if (require.main === module) {
  const [command, ...argv] = process.argv.slice(2);
  try {
    if (command === 'stage') {
      const from = option(argv, '--from');
      stage({ triple: option(argv, '--triple'), from: from && path.resolve(from) });
    } else if (command === 'check') {
      console.log(check(path.resolve(argv[0] ?? process.cwd())));
    } else {
      console.error('usage: platform-package.js stage [--triple <triple>] [--from <file>] | check [<dir>]');
      process.exitCode = 2;
    }
  } catch (error) {
    console.error(error.message);
    process.exitCode = 1;
  }
}
