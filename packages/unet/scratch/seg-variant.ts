import { createTensor } from '@latentkit/core';
import { OnnxUNet } from '../src';
const [folder, optionsJson, sideArg] = process.argv.slice(2);
const side = Number(sideArg ?? 64);
function wave(dims: number[], seed: number) {
  const size = dims.reduce((a, b) => a * b, 1);
  return createTensor(dims, Float32Array.from({ length: size }, (_, i) => Math.sin((i + 1) * seed)));
}
(async () => {
  const t0 = performance.now();
  const unet = await OnnxUNet.fromPretrained(folder!, { attention: 'native', cacheDir: '/work/scratch-segcache', sessionOptions: JSON.parse(optionsJson!) });
  const load = performance.now() - t0;
  const input = { sample: wave([2, 4, side, side], 0.37), timestep: 501, encoderHiddenStates: wave([2, 77, unet.crossAttentionDim], 1.91) };
  const times: string[] = [];
  for (let i = 0; i < 4; i++) {
    const s = performance.now();
    await unet.predict(input);
    const t = unet.lastCallTimings as { attentionMs?: number; onnxruntimeMs?: number } | undefined;
    times.push(`${Math.round(performance.now() - s)}(ort ${Math.round(t?.onnxruntimeMs ?? NaN)}, att ${Math.round(t?.attentionMs ?? NaN)})`);
  }
  console.log(optionsJson, `load ${Math.round(load)} ms; calls ms: ${times.join(' ')}; peak ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`);
  await unet.dispose();
})();
