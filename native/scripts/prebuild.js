#!/usr/bin/env node
'use strict';
/**
 * Builds the addon for one platform package and packs it: the step each job of the CI matrix runs
 * (see platforms/README.md and .github/workflows/native-prebuilt.yml).
 *
 *   node scripts/prebuild.js <triple> [--pack <dir>] [--reuse] [cmake-js options...]
 *
 *   <triple>   linux-x64-gnu | linux-arm64-gnu | darwin-arm64 | darwin-x64 | win32-x64
 *   --pack     then `npm pack` @latentkit/native-<triple> into <dir> (its prepack checks the binary)
 *   --reuse    on the host's own triple, stage the existing build/Release/latentkit_native.node
 *              instead of building again (the CUDA compile takes minutes)
 *
 * The host's own triple builds natively (build/Release, as `pnpm build` does); linux-arm64-gnu also
 * cross-compiles on an x86-64 Linux host with g++-aarch64-linux-gnu (cmake/aarch64-linux-gnu.cmake,
 * into build-linux-arm64-gnu/, CPU only); darwin-* and win32-x64 build on their own runners
 * (win32 with clang-cl: `-t ClangCL -A x64`, since the kernels use GCC/Clang vector extensions).
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { currentTriple, stage, check, ADDON_FILE } = require('./platform-package');

const packageDir = path.resolve(__dirname, '..');
const argv = process.argv.slice(2);
const triple = argv[0];
const packIndex = argv.indexOf('--pack');
const packDir = packIndex >= 0 ? path.resolve(argv[packIndex + 1]) : undefined;
const reuse = argv.includes('--reuse');
const extra = argv.slice(1).filter((argument, i, all) => argument !== '--pack' && all[i - 1] !== '--pack' && argument !== '--reuse');
const platformDir = path.join(packageDir, 'platforms', triple ?? '');

if (!triple || !fs.existsSync(path.join(platformDir, 'package.json'))) {
  console.error(`usage: prebuild.js <triple> [--pack <dir>] [--reuse] [cmake-js options]; triples: ${fs.readdirSync(path.join(packageDir, 'platforms')).filter((d) => fs.existsSync(path.join(packageDir, 'platforms', d, 'package.json'))).join(', ')}`);
  process.exit(2);
}

function run(command, args, options = {}) {
  console.log(`$ ${[command, ...args].join(' ')}`);
  const result = spawnSync(command, args, { cwd: packageDir, stdio: 'inherit', shell: process.platform === 'win32', ...options });
  if (result.status !== 0) {
    console.error(`prebuild ${triple}: ${command} failed (${result.error ? result.error.message : `status ${result.status}`})`);
    process.exit(1);
  }
}

const host = currentTriple();
const cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [packageDir] });
if (triple === host) {
  const built = path.join(packageDir, 'build', 'Release', ADDON_FILE);
  if (reuse && fs.existsSync(built)) stage({ triple, from: built });
  else {
    const platformArgs = triple === 'win32-x64' ? ['--toolset', 'ClangCL', '--platform', 'x64'] : [];
    run(process.execPath, [path.join(__dirname, 'build-native.js'), '--strict', ...platformArgs, ...extra]); // stages it
  }
} else if (triple === 'linux-arm64-gnu' && host === 'linux-x64-gnu') {
  const out = `build-${triple}`;
  run(process.execPath, [cmakeJs, 'compile', '--log-level', 'warn', '--out', out, `--CDCMAKE_TOOLCHAIN_FILE=${path.join(packageDir, 'cmake', 'aarch64-linux-gnu.cmake')}`, ...extra]);
  stage({ triple, from: path.join(packageDir, out, 'Release', ADDON_FILE) });
} else {
  console.error(`prebuild: ${triple} cannot be built on ${host}; run this on a ${triple} machine (see platforms/README.md).`);
  process.exit(1);
}

console.log(check(platformDir));
if (packDir) {
  fs.mkdirSync(packDir, { recursive: true });
  run('npm', ['pack', '--pack-destination', packDir], { cwd: platformDir });
}
