#!/usr/bin/env node
'use strict';
// Builds the addon with cmake-js into build/Release, then stages it into this machine's platform
// package (platforms/<triple>/, in the repository only) so that it is ready to pack. A machine
// without a C++ toolchain (or cmake) still installs and uses @latentkit/native through its
// pure-TypeScript twins, so a failed build explains why and exits 0 unless --strict (or
// LATENTKIT_NATIVE_STRICT=1) asks for a hard failure. Extra arguments go to cmake-js
// (e.g. --CDLATENTKIT_CUDA=OFF, --CDCMAKE_CUDA_ARCHITECTURES=75).
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const packageDir = path.resolve(__dirname, '..');
const strict = process.argv.includes('--strict') || process.env.LATENTKIT_NATIVE_STRICT === '1';
const extra = process.argv.slice(2).filter((argument) => argument !== '--strict');

if (process.env.LATENTKIT_NATIVE === '0') {
  console.log('@latentkit/native: LATENTKIT_NATIVE=0, skipping the addon build (the JS twins will serve).');
  process.exit(0);
}

let cmakeJs;
try {
  cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [packageDir] });
} catch {
  console.warn('@latentkit/native: cmake-js is not installed next to @latentkit/native (it is one of its dependencies: reinstall it), so the addon was not built; the JS twins will serve.');
  process.exit(strict ? 1 : 0);
}

const result = spawnSync(process.execPath, [cmakeJs, 'compile', '--log-level', 'warn', ...extra], {
  cwd: packageDir,
  stdio: 'inherit',
  env: process.env,
});
if (result.status === 0) {
  // A cross build (toolchain file) is staged by scripts/prebuild.js, which knows its target.
  if (!extra.some((argument) => argument.includes('CMAKE_TOOLCHAIN_FILE'))) {
    require('./platform-package').stage({ quiet: !fs.existsSync(path.join(packageDir, 'platforms')) });
  }
  process.exit(0);
}

const reason = result.error ? result.error.message : `cmake-js exited with status ${result.status}`;
console.warn(
  [
    `@latentkit/native: the native addon was not built (${reason}).`,
    'The pure-TypeScript twins will serve every call (same results, slower).',
    'To build it, install cmake ≥ 3.18 and a C++17 compiler (e.g. `apt-get install cmake g++`),',
    'then run `npx latentkit-native-build` (in this repository: `pnpm --filter @latentkit/native build:native`).',
  ].join('\n'),
);
process.exit(strict ? 1 : 0);
