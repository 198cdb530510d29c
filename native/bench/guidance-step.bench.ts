/**
 * `pnpm --filter @latentkit/native bench` (second part): the fused guidance + scheduler step
 * against the unfused JS loop a pipeline would otherwise write (one pass for the guidance, one
 * for the step, one for the noise, each into a new array), plus the float16 and RGB conversions
 * against their TypeScript twins. Ratios compare measurements of this run only; each figure is
 * the best of several timed batches (other processes only ever slow a run down).
 */
import os from 'node:os';
import { guidanceStep, guidanceStepJs } from './guidance-step';
import { randomInputs } from './random-inputs';
import { float16BitsToFloat32, float32ToFloat16Bits } from '../src/float16';
import { latentsToRgb8Js } from '../src/latents-to-rgb8';
import { float16ToFloat32, float32ToFloat16, isNative, latentsToRgb8, nativeStatus } from '../src/index';

if (!isNative()) {
  console.error(`the addon is not loaded: ${nativeStatus().reason}`);
  process.exit(1);
}

/** Best nanoseconds per element over 7 batches of calls lasting ≥ 50 ms each. */
function nsPerElement(elements: number, call: () => void): number {
  for (let i = 0; i < 3; i++) call();
  let best = Infinity;
  for (let batch = 0; batch < 7; batch++) {
    let calls = 0;
    const start = process.hrtime.bigint();
    let elapsed = 0;
    do {
      call();
      calls++;
      elapsed = Number(process.hrtime.bigint() - start);
    } while (elapsed < 50e6);
    best = Math.min(best, elapsed / calls / elements);
  }
  return best;
}

/** The step as unfused code writes it: guidance, then the update, then the noise, in three passes. */
function unfusedStep(sample: Float32Array, uncond: Float32Array, cond: Float32Array, noise: Float32Array, g: number, a: number, b: number, c: number): Float32Array {
  const guided = new Float32Array(sample.length);
  for (let i = 0; i < sample.length; i++) guided[i] = uncond[i]! + g * (cond[i]! - uncond[i]!);
  const next = new Float32Array(sample.length);
  for (let i = 0; i < sample.length; i++) next[i] = a * sample[i]! + b * guided[i]!;
  for (let i = 0; i < sample.length; i++) next[i] += c * noise[i]!;
  return next;
}

console.log('# @latentkit/native element-wise benchmark');
console.log(`cpu: ${os.cpus()[0]?.model} × ${os.availableParallelism()}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}, kernel ${nativeStatus().kernel}\n`);
console.log(`${'kernel'.padEnd(44)}${'elements'.padEnd(10)}${'native ns/el'.padEnd(14)}${'baseline ns/el'.padEnd(16)}native is ×`);

const line = (name: string, elements: number, native: number, baseline: number, baselineName: string): void =>
  console.log(`${name.padEnd(44)}${String(elements).padEnd(10)}${native.toFixed(3).padEnd(14)}${baseline.toFixed(3).padEnd(16)}${(baseline / native).toFixed(1)}× (${baselineName})`);

for (const [label, elements] of [['SD 1.5 latents 1×4×64×64', 4 * 64 * 64], ['SDXL latents 2×4×128×128', 2 * 4 * 128 * 128], ['4M elements', 1 << 22]] as const) {
  const sample = randomInputs(elements, 1), uncond = randomInputs(elements, 2), cond = randomInputs(elements, 3), noise = randomInputs(elements, 4);
  const out = new Float32Array(elements);
  const fused = nsPerElement(elements, () =>
    guidanceStep({ sample, uncond, cond, noise, guidanceScale: 7.5, sampleCoefficient: 0.98, predictionCoefficient: -0.12, noiseCoefficient: 0.05, out }));
  const unfused = nsPerElement(elements, () => unfusedStep(sample, uncond, cond, noise, 7.5, 0.98, -0.12, 0.05));
  const twin = nsPerElement(elements, () => guidanceStepJs(out, null, sample, uncond, cond, noise, 7.5, 0.98, -0.12, 0.05));
  line(`guidanceStep, ${label}`, elements, fused, unfused, 'unfused JS loop');
  line(`guidanceStep, ${label}`, elements, fused, twin, 'fused TS twin');
}

{
  const elements = 2 * 4 * 128 * 128;
  const values = randomInputs(elements, 9);
  const halves = new Uint16Array(elements);
  const back = new Float32Array(elements);
  line('float32ToFloat16', elements, nsPerElement(elements, () => float32ToFloat16(values, halves)),
    nsPerElement(elements, () => { for (let i = 0; i < elements; i++) halves[i] = float32ToFloat16Bits(values[i]!); }), 'TS twin');
  line('float16ToFloat32', elements, nsPerElement(elements, () => float16ToFloat32(halves, back)),
    nsPerElement(elements, () => { for (let i = 0; i < elements; i++) back[i] = float16BitsToFloat32(halves[i]!); }), 'TS twin');
  const image = randomInputs(3 * 512 * 512, 5);
  const rgb = new Uint8Array(image.length);
  line('latentsToRgb8 512×512', image.length, nsPerElement(image.length, () => latentsToRgb8(image, { batch: 1, height: 512, width: 512, out: rgb })),
    nsPerElement(image.length, () => latentsToRgb8Js(image, rgb, 1, 512, 512)), 'TS twin');
}
