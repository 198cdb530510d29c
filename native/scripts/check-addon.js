#!/usr/bin/env node
'use strict';
/**
 * Loads one compiled addon file and checks every kernel against its TypeScript twin, in this
 * process (no child processes, so it also runs under qemu-user): the check each CI matrix job runs
 * on the binary it just built, before packing it.
 *
 *   node scripts/check-addon.js [path/to/latentkit_native.node]   (default: build/Release/)
 *
 * Needs dist/ (pnpm --filter @latentkit/native build:ts). Tolerances: attention max |Δ| ≤ 1e-5
 * (float32, different summation order); guidance step, float16 conversion and RGB bytes must be
 * bit-identical (the native elementwise kernels are built without FMA contraction).
 */
const path = require('node:path');

const packageDir = path.resolve(__dirname, '..');
const file = path.resolve(process.argv[2] ?? path.join(packageDir, 'build', 'Release', 'latentkit_native.node'));

// The twins: the public API with the addon switched off (read once, at the first call).
process.env.LATENTKIT_NATIVE = '0';
const twin = require(path.join(packageDir, 'dist', 'index.js'));
const { guidanceStepJs } = require(path.join(packageDir, 'dist', 'guidance-step.js'));
const { latentsToRgb8Js } = require(path.join(packageDir, 'dist', 'latents-to-rgb8.js'));

const addon = require(file);
const build = addon.describeBuild();
console.log(`check-addon: ${file}`);
console.log(`  ${process.platform}-${process.arch}, node ${process.version}: kernels ${build.simd} (detected ${build.detectedSimd}), f16c ${build.f16c}, ${build.threads} threads, attention ${addon.attentionKernel()}`);
const cuda = addon.cudaInfo();
console.log(`  CUDA: compiled ${cuda.compiled}, ${cuda.deviceCount} device(s)${cuda.error ? ` (${cuda.error})` : ''}`);

let seed = 12345;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
const filled = (n, scale = 1) => Float32Array.from({ length: n }, () => random() * scale);
const failures = [];
const expectClose = (label, a, b, tolerance) => {
  let worst = 0;
  // Equal values (±Infinity included) differ by 0; NaN anywhere is a failure.
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Object.is(a[i], b[i]) ? 0 : Math.abs(a[i] - b[i]));
  const ok = a.length === b.length && worst <= tolerance;
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${label}: max |Δ| ${worst.toExponential(2)} (tolerance ${tolerance})`);
  if (!ok) failures.push(label);
};

// Attention: self-attention (Nq = Nk = 77, 2 heads of 40), cross-attention to 77 tokens, and a
// long key sequence (K and V above 512 KB: the AVX-512 kernel packs panels and runs key chunks),
// every kernel the CPU has.
const levels = ['scalar', 'avx2', 'avx512'];
const best = build.detectedSimd;
for (const [nq, nk, headDim, heads] of [[77, 77, 40, 2], [64, 77, 64, 2], [40, 1100, 64, 3]]) {
  const batch = 2;
  const q = filled(batch * nq * heads * headDim);
  const k = filled(batch * nk * heads * headDim);
  const v = filled(batch * nk * heads * headDim);
  const expected = twin.multiHeadAttention(q, k, v, { batch, heads, headDim });
  for (const level of levels.slice(0, levels.indexOf(best) + 1)) {
    addon.setSimdLevel(level);
    const out = new Float32Array(q.length);
    addon.multiHeadAttention(q, k, v, out, null, batch, heads, headDim, 1 / Math.sqrt(headDim));
    expectClose(`attention ${nq}×${nk}×${headDim} (${level})`, out, expected, 1e-5);
  }
  addon.setSimdLevel(best);
}

// Head-averaged attention probabilities (when this build has them): the same float64 loops as
// the twin, so equal but for the last bit of exp.
if (typeof addon.attentionProbabilities === 'function') {
  const [batch, heads, headDim, nq, nk] = [2, 3, 40, 33, 77];
  const q = filled(batch * nq * heads * headDim, 2);
  const k = filled(batch * nk * heads * headDim, 2);
  const mask = Uint8Array.from({ length: batch * nk }, (_, j) => (j % 5 === 0 ? 0 : 1));
  const native = addon.attentionProbabilities(q, k, new Float32Array(batch * nq * nk), mask, batch, heads, headDim, 1 / Math.sqrt(headDim));
  expectClose('attentionProbabilities', native, twin.attentionProbabilities(q, k, { batch, heads, headDim, mask }), 1e-7);
}

// Guidance step: bit-identical.
{
  const n = 4 * 8 * 8 * 2 + 3;
  const [sample, uncond, cond, noise] = [filled(n), filled(n), filled(n), filled(n)];
  const native = new Float32Array(n);
  const expected = new Float32Array(n);
  addon.guidanceStep(native, null, sample, uncond, cond, noise, 7.5, 0.98, -0.21, 0.05);
  guidanceStepJs(expected, null, sample, uncond, cond, noise, 7.5, 0.98, -0.21, 0.05);
  expectClose('guidance step', native, expected, 0);
}

// float16 both ways, and the RGB bytes: bit-identical.
{
  const values = Float32Array.from([...filled(1000, 70000), 0, -0, 65504, 65520, 5.96e-8, 1e-10, Infinity, -Infinity]);
  const halves = addon.float32ToFloat16(values, new Uint16Array(values.length));
  expectClose('float32 → float16', halves, twin.float32ToFloat16(values), 0);
  expectClose('float16 → float32', addon.float16ToFloat32(halves, new Float32Array(halves.length)), twin.float16ToFloat32(halves), 0);
  const [batch, height, width] = [1, 9, 7];
  const image = filled(batch * 3 * height * width, 1.2);
  const native = addon.latentsToRgb8(image, new Uint8Array(image.length), batch, height, width);
  const expected = new Uint8Array(image.length);
  latentsToRgb8Js(image, expected, batch, height, width);
  expectClose('latentsToRgb8', native, expected, 0);
}

console.log(failures.length === 0 ? 'check-addon: every kernel matches its twin' : `check-addon: ${failures.length} FAILED: ${failures.join(', ')}`);
process.exitCode = failures.length === 0 ? 0 : 1;
