#!/usr/bin/env node
'use strict';
/**
 * `npx latentkit-native-build [cmake-js options]`: builds @latentkit/native's addon from the
 * sources shipped in the package, in the user's own project, and checks that it loads.
 *
 * For a platform without a prebuilt package (or a GPU the prebuilt CUDA code does not cover:
 * `npx latentkit-native-build --CDCMAKE_CUDA_ARCHITECTURES=75`). Needs cmake ≥ 3.18 and a C++17
 * compiler (and nvcc for CUDA; `--CDLATENTKIT_CUDA=OFF` builds the CPU addon only); cmake-js,
 * node-addon-api and node-api-headers come with @latentkit/native. The result is
 * node_modules/@latentkit/native/build/Release/latentkit_native.node, which the loader uses when no
 * platform package serves (or when LATENTKIT_NATIVE_ADDON names it).
 */
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const packageDir = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(
    [
      'usage: npx latentkit-native-build [--CD<cmake variable>=<value> ...]',
      '',
      'Builds the @latentkit/native addon from source into',
      `  ${path.join(packageDir, 'build', 'Release', 'latentkit_native.node')}`,
      'Needs cmake ≥ 3.18 and a C++17 compiler; CUDA is compiled in where nvcc is found.',
      '  --CDLATENTKIT_CUDA=OFF               CPU addon only',
      '  --CDCMAKE_CUDA_ARCHITECTURES="75;86" the GPU architectures to compile for (default 80;86;89;90)',
    ].join('\n'),
  );
  process.exit(0);
}

const build = spawnSync(process.execPath, [path.join(__dirname, 'build-native.js'), '--strict', ...args], { cwd: packageDir, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

// Load the fresh build in a new process and say which implementation will serve.
const probe = spawnSync(
  process.execPath,
  [
    '-e',
    `const { loadAddon } = require(${JSON.stringify(path.join(packageDir, 'dist', 'load-addon.js'))});
     const file = ${JSON.stringify(path.join(packageDir, 'build', 'Release', 'latentkit_native.node'))};
     const built = require(file).describeBuild();
     console.log('@latentkit/native: built ' + file + ' (kernels ' + built.simd + ', ' + built.threads + ' threads)');
     const serving = loadAddon({ ...process.env, LATENTKIT_NATIVE: undefined });
     if (serving.path !== file) console.log('note: ' + serving.reason + ' It is tried before a local build; to use this build, set LATENTKIT_NATIVE_ADDON=' + file + ' or install without optional dependencies.');`,
  ],
  { cwd: packageDir, stdio: 'inherit' },
);
process.exit(probe.status ?? 1);
