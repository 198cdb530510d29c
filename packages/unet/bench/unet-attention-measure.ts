/**
 * One measurement of the UNet attention benchmark, in a process of its own so that its peak
 * resident memory (getrusage maxRSS) belongs to one backend alone. Prints one JSON line.
 *
 *   tsx bench/unet-attention-measure.ts '{"folder":"models/sd15","backend":"native","side":64,"runs":3}'
 */
import { createTensor } from '@latentkit/core';
import { OnnxUNet, type AttentionBackend } from '../src';

interface Request {
  folder: string;
  backend: AttentionBackend;
  /** Latent side (image side / 8 for SD). */
  side: number;
  runs: number;
  threads?: number;
  cacheDir?: string;
}

function wave(dims: number[], seed: number) {
  const size = dims.reduce((a, b) => a * b, 1);
  return createTensor(dims, Float32Array.from({ length: size }, (_, i) => Math.sin((i + 1) * seed)));
}

async function main(): Promise<void> {
  const request = JSON.parse(process.argv[2]!) as Request;
  const loadStarted = performance.now();
  const unet = await OnnxUNet.fromPretrained(request.folder, {
    attention: request.backend,
    cacheDir: request.cacheDir,
    sessionOptions: request.threads ? { threads: request.threads } : {},
  });
  const loadMs = performance.now() - loadStarted;
  const rssAfterLoad = process.memoryUsage().rss;
  // Batch 2: classifier-free guidance's unconditional and conditional halves in one call.
  const input = {
    sample: wave([2, unet.inChannels, request.side, request.side], 0.37),
    timestep: 501,
    encoderHiddenStates: wave([2, unet.fixedSequenceLength ?? 77, unet.crossAttentionDim], 1.91),
  };
  await unet.predict(input); // warm-up: onnxruntime sizes its arenas on the first run
  const times: number[] = [];
  const attention: number[] = [];
  for (let i = 0; i < request.runs; i++) {
    const started = performance.now();
    await unet.predict(input);
    times.push(performance.now() - started);
    attention.push(unet.lastCallTimings?.attentionMs ?? Number.NaN);
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const ms = median(times);
  process.stdout.write(`${JSON.stringify({
    backend: unet.attentionBackend,
    side: request.side,
    attentionLayers: unet.attentionLayers.length,
    loadMs: Math.round(loadMs),
    ms: Math.round(ms),
    bestMs: Math.round(Math.min(...times)),
    attentionMs: Number.isNaN(median(attention)) ? undefined : Math.round(median(attention)),
    attentionShare: Number.isNaN(median(attention)) ? undefined : +(median(attention) / ms).toFixed(3),
    peakRssMb: Math.round((process.resourceUsage().maxRSS * 1024) / 2 ** 20),
    rssAfterLoadMb: Math.round(rssAfterLoad / 2 ** 20),
  })}\n`);
  await unet.dispose();
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
