/**
 * The whole UNet graph in onnxruntime against native attention (onnxruntime segments around the
 * addon's kernel), both loaded in one process and called alternately on the same input, so that
 * a shared machine's load falls on both alike. Prints every round, the steady median of each
 * (rounds 2 on: onnxruntime's first two calls of a session size its arenas) and their ratio, the
 * outputs' relative difference, and the process's peak RSS (both UNets together).
 *
 *   npx tsx bench/unet-alternate.ts <model folder> [latent side = 64] [rounds = 3] [batch = 2]
 */
import { createTensor } from '@latentkit/core';
import { OnnxUNet } from '../src';

const [folder, sideArg, roundsArg, batchArg] = process.argv.slice(2);
if (!folder) {
  console.error('usage: npx tsx bench/unet-alternate.ts <model folder> [latent side = 64] [rounds = 3] [batch = 2]');
  process.exit(2);
}
const side = Number(sideArg ?? 64);
const rounds = Number(roundsArg ?? 3);
const batch = Number(batchArg ?? 2);
const threads = Number(process.env.LATENTKIT_THREADS ?? 2);

function wave(dims: number[], seed: number) {
  const size = dims.reduce((a, b) => a * b, 1);
  return createTensor(dims, Float32Array.from({ length: size }, (_, i) => Math.sin((i + 1) * seed)));
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  let started = performance.now();
  const whole = await OnnxUNet.fromPretrained(folder!, { attention: 'onnxruntime', sessionOptions: { threads } });
  console.log(`onnxruntime load ${Math.round(performance.now() - started)} ms`);
  started = performance.now();
  const native = await OnnxUNet.fromPretrained(folder!, { attention: 'native', sessionOptions: { threads } });
  console.log(`native load ${Math.round(performance.now() - started)} ms (${native.attentionLayers.length} attention layers)`);
  const input = {
    sample: wave([batch, native.inChannels, side, side], 0.37),
    timestep: 501,
    encoderHiddenStates: wave([batch, native.fixedSequenceLength ?? 77, native.crossAttentionDim], 1.91),
  };
  const wholeMs: number[] = [];
  const nativeMs: number[] = [];
  for (let round = 0; round < rounds + 2; round++) {
    started = performance.now();
    const expected = await whole.predict(input);
    wholeMs.push(performance.now() - started);
    started = performance.now();
    const actual = await native.predict(input);
    nativeMs.push(performance.now() - started);
    let difference = 0;
    let magnitude = 0;
    for (let i = 0; i < expected.data.length; i++) {
      difference = Math.max(difference, Math.abs(expected.data[i]! - actual.data[i]!));
      magnitude = Math.max(magnitude, Math.abs(expected.data[i]!));
    }
    console.log(`round ${round}: onnxruntime ${Math.round(wholeMs[round]!)} ms, native ${Math.round(nativeMs[round]!)} ms (attention ${Math.round(native.lastCallTimings!.attentionMs)} ms), relative difference ${(difference / magnitude).toExponential(2)}`);
  }
  const [w, n] = [median(wholeMs.slice(2)), median(nativeMs.slice(2))];
  console.log(`steady (rounds 2+): onnxruntime median ${Math.round(w)} ms, native median ${Math.round(n)} ms, native ${(w / n).toFixed(2)}× faster; peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MB (both UNets)`);
  await whole.dispose();
  await native.dispose();
}

main().catch((error) => {
  console.error(error instanceof Error ? error.stack : String(error));
  process.exit(1);
});
