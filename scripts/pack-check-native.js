'use strict';
/**
 * The prebuilt addon, installed from tarballs the way an npm user gets it (called by pack-check.js):
 *
 *   A  @latentkit/native + @latentkit/native-<this triple> into an empty project, with a PATH that
 *      holds node, npm and sh only (no g++, cc, cmake, make, ninja, nvcc): isNative(), nativeStatus()
 *      names the platform package, no warning, and attention matches the TypeScript twin (run in a
 *      second process with LATENTKIT_NATIVE=0) within max |Δ| ≤ 1e-5.
 *   B  @latentkit/native alone (npm finds no platform package): the twins serve, several calls
 *      print exactly one LATENTKIT_NATIVE_UNAVAILABLE warning, which names `npx latentkit-native-build`
 *      and the platform package, and no in-repository command.
 *   C  @latentkit/pipeline + @latentkit/model-tiny (and their @latentkit tarballs, the platform
 *      package among them), same PATH: a 2-step generation calls the native latentsToRgb8, and its
 *      pixels are identical to a generation with LATENTKIT_NATIVE=0.
 *   D  (unless --no-build-from-source; needs cmake and a C++ compiler on the real PATH) in project B,
 *      `npx latentkit-native-build --CDLATENTKIT_CUDA=OFF` builds the addon from the packed sources;
 *      then the local build serves and matches the twin.
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const COMPILERS = ['g++', 'gcc', 'c++', 'cc', 'clang', 'clang++', 'cmake', 'make', 'ninja', 'nvcc'];

function which(tool, searchPath) {
  for (const dir of searchPath.split(path.delimiter).filter(Boolean)) {
    const file = path.join(dir, tool);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

function exec(command, argv, options) {
  const started = Date.now();
  const result = spawnSync(command, argv, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  return { ok: result.status === 0, stdout: result.stdout ?? '', stderr: `${result.stderr ?? ''}${result.error ? String(result.error) : ''}`, seconds: (Date.now() - started) / 1000 };
}

/** The attention case both the native addon and the twin compute (deterministic inputs). */
const ATTENTION_CASE = `
const native = require('@latentkit/native');
function attentionCase() {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  const [batch, heads, headDim, nq, nk] = [2, 8, 40, 64, 77];
  const q = Float32Array.from({ length: batch * nq * heads * headDim }, random);
  const k = Float32Array.from({ length: batch * nk * heads * headDim }, random);
  const v = Float32Array.from({ length: batch * nk * heads * headDim }, random);
  return native.multiHeadAttention(q, k, v, { batch, heads, headDim });
}
`;

const CHECK_NATIVE = `${ATTENTION_CASE}
const { execFileSync } = require('node:child_process');
const warnings = [];
process.on('warning', (w) => warnings.push(w.code ?? w.name));
const out = attentionCase();
if (process.env.LATENTKIT_NATIVE === '0') {
  process.stdout.write(JSON.stringify(Array.from(out)));
} else {
  // More calls, to see that at most one warning is printed.
  attentionCase();
  native.latentsToRgb8(new Float32Array(3 * 4 * 4), { batch: 1, height: 4, width: 4 });
  native.float16ToFloat32(native.float32ToFloat16(new Float32Array([1, 2, 3])));
  const twin = JSON.parse(execFileSync(process.execPath, [__filename], { env: { ...process.env, LATENTKIT_NATIVE: '0' }, maxBuffer: 1 << 26 }).toString());
  let worst = 0;
  for (let i = 0; i < out.length; i++) worst = Math.max(worst, Math.abs(out[i] - twin[i]));
  const toolsOnPath = ${JSON.stringify(COMPILERS)}.filter((tool) => (process.env.PATH || '').split(require('node:path').delimiter).some((d) => require('node:fs').existsSync(require('node:path').join(d, tool))));
  setImmediate(() => {
    process.stdout.write(JSON.stringify({
      isNative: native.isNative(),
      status: native.nativeStatus(),
      elements: out.length,
      maxAbsDiffVsTwin: worst,
      warnings: warnings.filter((c) => c === 'LATENTKIT_NATIVE_UNAVAILABLE').length,
      toolsOnPath,
    }));
  });
}
`;

const CHECK_PIPELINE = `
const crypto = require('node:crypto');
const native = require('@latentkit/native');
const status = native.nativeStatus();
const calls = { latentsToRgb8: 0, multiHeadAttention: 0, multiHeadAttentionAsync: 0, cudaMultiHeadAttention: 0 };
if (status.native) {
  // Count the calls that reach the addon itself (the wrappers look its functions up at each call).
  const addon = require(status.path);
  for (const name of Object.keys(calls)) {
    const original = addon[name];
    addon[name] = function (...args) { calls[name] += 1; return original.apply(this, args); };
  }
}
const warnings = [];
process.on('warning', (w) => warnings.push(w.code ?? w.name));
(async () => {
  const { StableDiffusionPipeline } = require('@latentkit/pipeline');
  const pipeline = await StableDiffusionPipeline.fromPretrained(undefined);
  const started = Date.now();
  const result = await pipeline.textToImage({ prompt: 'a red circle on a blue background', numInferenceSteps: 2, seed: 1 });
  const seconds = (Date.now() - started) / 1000;
  await pipeline.dispose();
  const image = result.images[0];
  process.stdout.write(JSON.stringify({
    status: { native: status.native, source: status.source, path: status.path, reason: status.reason },
    calls,
    image: { width: image.width, height: image.height, sha256: crypto.createHash('sha256').update(image.data).digest('hex').slice(0, 16) },
    seconds,
    warnings: warnings.filter((c) => c === 'LATENTKIT_NATIVE_UNAVAILABLE').length,
  }));
})().catch((error) => { console.error(error); process.exit(1); });
`;

function run({ work, tarballs, closure, env, hostTriple, buildFromSource, lastLines }) {
  const results = [];
  const check = (label, ok, detail) => {
    results.push({ label, ok });
    console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${label}${detail ? `: ${detail}` : ''}`);
  };
  const platformName = `@latentkit/native-${hostTriple}`;
  console.log(`\npack-check native: the prebuilt addon from tarballs (${platformName})`);
  if (!tarballs.has('@latentkit/native') || !tarballs.has(platformName)) {
    check('tarballs', false, `missing: ${['@latentkit/native', platformName].filter((n) => !tarballs.has(n)).join(', ')} (build the addon first: pnpm --filter @latentkit/native build:native)`);
    return 1;
  }
  const tgzSize = (name) => `${(fs.statSync(tarballs.get(name)).size / 1048576).toFixed(2)} MiB`;
  console.log(`  tarballs: @latentkit/native ${tgzSize('@latentkit/native')}, ${platformName} ${tgzSize(platformName)}`);

  // A PATH with node, npm and sh only (npm runs install scripts, e.g. onnxruntime-node's, through sh).
  const bin = path.join(work, 'no-compiler-bin');
  fs.mkdirSync(bin, { recursive: true });
  for (const tool of ['node', 'npm', 'npx', 'sh']) {
    const found = tool === 'node' ? process.execPath : which(tool, process.env.PATH ?? '');
    if (found) fs.symlinkSync(found, path.join(bin, tool));
  }
  const bare = { ...env, PATH: bin };
  const reachable = COMPILERS.filter((tool) => which(tool, bin));
  check('PATH without compilers', reachable.length === 0, `${bin} holds ${fs.readdirSync(bin).join(', ')}; none of ${COMPILERS.join(', ')}`);

  const project = (name, specs) => {
    const dir = path.join(work, 'native-projects', name);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `pack-check-${name}`, version: '0.0.0', private: true }, null, 2));
    const install = exec('npm', ['install', '--no-package-lock', '--loglevel=error', ...specs], { cwd: dir, env: bare });
    check(`${name}: npm install (no compiler on PATH)`, install.ok, `${install.seconds.toFixed(0)} s${install.ok ? '' : `\n${lastLines(install.stdout + install.stderr)}`}`);
    return install.ok ? dir : undefined;
  };
  const runJson = (dir, file, source, extraEnv = {}, pathEnv = bare) => {
    fs.writeFileSync(path.join(dir, file), source);
    const result = exec(process.execPath, [file], { cwd: dir, env: { ...pathEnv, ...extraEnv } });
    let json;
    try {
      json = JSON.parse(result.stdout);
    } catch {
      json = undefined;
    }
    return { ...result, json };
  };

  // A: the prebuilt addon serves.
  const prebuilt = project('native-prebuilt', [tarballs.get('@latentkit/native'), tarballs.get(platformName)]);
  if (prebuilt) {
    const packed = path.join(prebuilt, 'node_modules', '@latentkit', 'native');
    check('native-prebuilt: @latentkit/native holds no binary of its own', !fs.existsSync(path.join(packed, 'build')));
    const a = runJson(prebuilt, 'check-native.js', CHECK_NATIVE);
    const s = a.json;
    if (!s) check('native-prebuilt: check-native.js', false, lastLines(a.stdout + a.stderr));
    else {
      check('native-prebuilt: isNative()', s.isNative === true, `nativeStatus() = ${JSON.stringify({ source: s.status.source, kernel: s.status.kernel, threads: s.status.threads, reason: s.status.reason })}`);
      check('native-prebuilt: served by the platform package', s.status.source === 'platform-package' && s.status.path.includes(path.join('node_modules', '@latentkit', `native-${hostTriple}`)), s.status.path);
      check('native-prebuilt: attention vs the TypeScript twin', s.maxAbsDiffVsTwin <= 1e-5, `${s.elements} values, max |Δ| ${s.maxAbsDiffVsTwin.toExponential(2)} (tolerance 1e-5)`);
      check('native-prebuilt: no warning', s.warnings === 0 && !a.stderr.includes('LATENTKIT_NATIVE_UNAVAILABLE'), a.stderr.trim() || 'stderr empty');
      check('native-prebuilt: compilers seen by the process', s.toolsOnPath.length === 0, s.toolsOnPath.join(', ') || 'none');
    }
  }

  // B: without the platform package, the twins with exactly one message.
  const fallback = project('native-fallback', [tarballs.get('@latentkit/native')]);
  if (fallback) {
    const platforms = fs.readdirSync(path.join(fallback, 'node_modules', '@latentkit')).filter((d) => d.startsWith('native-'));
    check('native-fallback: no platform package installed', platforms.length === 0, platforms.join(', ') || 'node_modules/@latentkit holds native only');
    const b = runJson(fallback, 'check-native.js', CHECK_NATIVE);
    const s = b.json;
    if (!s) check('native-fallback: check-native.js', false, lastLines(b.stdout + b.stderr));
    else {
      const count = b.stderr.split('LATENTKIT_NATIVE_UNAVAILABLE').length - 1;
      check('native-fallback: the twins serve', s.isNative === false && s.status.source === 'typescript', `kernel ${s.status.kernel}`);
      check('native-fallback: exactly one warning in stderr', count === 1 && s.warnings === 1, `${count} × LATENTKIT_NATIVE_UNAVAILABLE:\n      ${b.stderr.trim().split('\n').join('\n      ')}`);
      const reason = s.status.reason ?? '';
      check('native-fallback: the message names the fix', reason.includes('npx latentkit-native-build') && reason.includes(`${platformName}@`) && !reason.includes('pnpm'), 'names `npx latentkit-native-build` and the platform package, no in-repository command');
    }

    // D: build from source in the user's project.
    if (buildFromSource) {
      const missing = ['cmake', 'c++'].filter((tool) => !which(tool, process.env.PATH ?? ''));
      if (missing.length > 0) console.log(`  skip native-fallback: npx latentkit-native-build (no ${missing.join(', ')} on PATH)`);
      else {
        const build = exec('npx', ['--no-install', 'latentkit-native-build', '--CDLATENTKIT_CUDA=OFF'], { cwd: fallback, env });
        check('native-fallback: npx latentkit-native-build --CDLATENTKIT_CUDA=OFF', build.ok, `${build.seconds.toFixed(0)} s, ${(build.stdout.match(/built .*/) ?? [lastLines(build.stdout + build.stderr)])[0]}`);
        if (build.ok) {
          const d = runJson(fallback, 'check-native.js', CHECK_NATIVE);
          const s2 = d.json;
          check('native-fallback after the build: the local build serves', s2?.isNative === true && s2.status.source === 'local-build', s2 ? `${s2.status.path} (kernel ${s2.status.kernel})` : lastLines(d.stdout + d.stderr));
          if (s2) check('native-fallback after the build: attention vs the twin', s2.maxAbsDiffVsTwin <= 1e-5, `max |Δ| ${s2.maxAbsDiffVsTwin.toExponential(2)}, ${s2.warnings} warnings`);
        }
      }
    }
  }

  // C: a generation with @latentkit/pipeline uses the native latentsToRgb8.
  const names = [...new Set([...closure('@latentkit/pipeline'), ...closure('@latentkit/model-tiny')])];
  const missingTarballs = names.filter((n) => !tarballs.has(n));
  if (missingTarballs.length) check('pipeline: tarballs', false, `missing ${missingTarballs.join(', ')}`);
  else {
    const pipeline = project('pipeline', names.map((n) => tarballs.get(n)));
    if (pipeline) {
      const c = runJson(pipeline, 'check-pipeline.js', CHECK_PIPELINE);
      const twin = runJson(pipeline, 'check-pipeline.js', CHECK_PIPELINE, { LATENTKIT_NATIVE: '0' });
      if (!c.json || !twin.json) check('pipeline: check-pipeline.js', false, lastLines(`${c.stdout}${c.stderr}${twin.stdout}${twin.stderr}`));
      else {
        const s = c.json;
        check('pipeline: the platform package serves', s.status.source === 'platform-package' && s.warnings === 0, s.status.reason);
        check('pipeline: a generation calls the native latentsToRgb8', s.calls.latentsToRgb8 >= 1,
          `2 steps, ${s.image.width}×${s.image.height} in ${s.seconds.toFixed(1)} s; addon calls ${JSON.stringify(s.calls)}`);
        check('pipeline: pixels identical to the twins (LATENTKIT_NATIVE=0)', s.image.sha256 === twin.json.image.sha256, `sha256 ${s.image.sha256} vs ${twin.json.image.sha256} (twins: ${twin.json.seconds.toFixed(1)} s)`);
      }
    }
  }

  const failed = results.filter((r) => !r.ok).length;
  console.log(`pack-check native: ${results.length - failed} of ${results.length} checks passed`);
  return failed;
}

module.exports = { run };
