/**
 * Does opening text_encoder and vae_decoder in a worker thread, while the main thread opens the
 * UNet (native attention: its segments), shorten a load? onnxruntime-node opens sessions
 * synchronously on the calling thread, so the main thread alone opens them one after the other.
 * Not in CI. Run each mode a few times on a filled cache (e.g. the one `pnpm bench:real -- <model>
 * --only cold --cache DIR` leaves):
 *
 *   npx tsx bench/concurrent-open.bench.ts <model folder> <cache folder> sequential|worker
 *
 * The worker's sessions are released at once: sessions cannot move between threads, so using
 * this for real would mean running the text encoder and the VAE in the worker.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { openOnnxSession } from '@latentkit/onnx';
import { OnnxUNet } from '@latentkit/unet';

const s = (t: number) => Math.round((performance.now() - t) / 10) / 100;
async function openSmall(model: string, cache: string): Promise<number> {
  const t = performance.now();
  for (const part of ['text_encoder', 'vae_decoder']) {
    const session = await openOnnxSession(path.join(model, part, 'model.onnx'), { optimizedModelCache: cache });
    await session.release();
  }
  return s(t);
}
async function main(): Promise<void> {
  const [model, cache, mode] = process.argv.slice(2) as [string, string, string];
  const t = performance.now();
  const cpu = process.cpuUsage();
  let small: Promise<number>;
  if (mode === 'worker') {
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      const path = require('node:path');
      const { openOnnxSession } = require(workerData.onnxModule);
      (async () => {
        const t = performance.now();
        for (const part of ['text_encoder', 'vae_decoder']) {
          const session = await openOnnxSession(path.join(workerData.model, part, 'model.onnx'), { optimizedModelCache: workerData.cache });
          await session.release();
        }
        parentPort.postMessage(Math.round((performance.now() - t) / 10) / 100);
      })();`;
    const worker = new Worker(code, { eval: true, workerData: { model, cache, onnxModule: require.resolve('@latentkit/onnx') } });
    small = new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
  } else {
    small = openSmall(model, cache);
    await small;
  }
  const tu = performance.now();
  const unet = await OnnxUNet.fromPretrained(path.join(model, 'unet'), { attention: 'native', cacheDir: cache, sessionOptions: { optimizedModelCache: cache } });
  const unetSeconds = s(tu);
  const smallSeconds = await small;
  const used = process.cpuUsage(cpu);
  console.log(JSON.stringify({ mode, totalSeconds: s(t), unetSeconds, textAndVaeSeconds: smallSeconds, cpuSeconds: Math.round((used.user + used.system) / 1e4) / 100 }));
  await unet.dispose();
}
void main();
