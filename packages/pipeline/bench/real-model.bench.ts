/**
 * `pnpm bench:real -- <model folder> [--steps N] [--size PX] [--runs N] [--torch]`: load time,
 * seconds per step and peak RSS of a real-size Stable Diffusion ONNX folder (e.g. the SD 1.5
 * export tools/sd-export builds), for latentkit and for a bare onnxruntime loop on the same files,
 * and — with `--torch`, where `<folder>.torch` and /usr/bin/python3 with torch exist — diffusers +
 * torch on the same weights. Not part of CI: it needs gigabytes of memory and minutes.
 *
 * Every scenario runs in a fresh child process, so that its peak RSS (getrusage's ru_maxrss) is
 * its own. Scenarios:
 *  - bare:        ort.InferenceSession.create of text_encoder, unet, vae_decoder (default options),
 *                 then the same text → UNet (batch 2) → decode loop latentkit runs.
 *  - cold / warm: StableDiffusionPipeline.fromPretrained with an empty, then a filled
 *                 optimized-model cache, then textToImage.
 *  - lean:        warm, plus sequential guidance and onnxruntime's CPU arena and memory patterns off.
 *  - ort:         warm with `attention: 'onnxruntime'` (the whole UNet graph in one session), the
 *                 baseline for the native attention the other latentkit scenarios use by default.
 */
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { StableDiffusionPipeline, StageTimings } from '../src/index';

interface Settings {
  folder: string;
  steps: number;
  size: number;
  cache: string;
}

interface Report {
  scenario: string;
  loadSeconds: number;
  /** Seconds per denoising step (UNet at batch 2, or twice at batch 1). */
  stepSeconds: number;
  totalSeconds: number;
  peakRssGb: number;
  /** RSS after load, GB: what the sessions hold before anything runs (weights, prepacked copies). */
  loadedRssGb: number;
  detail?: Record<string, number | string>;
}

const gb = (kilobytes: number) => Math.round((kilobytes / 1024 / 1024) * 100) / 100;
const rssGb = () => Math.round((process.memoryUsage().rss / 2 ** 30) * 100) / 100;
const peakGb = () => gb(process.resourceUsage().maxRSS);
const seconds = (since: number) => Math.round((performance.now() - since) / 10) / 100;

async function bare(settings: Settings): Promise<Report> {
  const start = performance.now();
  const parts: Record<string, ort.InferenceSession> = {};
  const detail: Record<string, number> = {};
  for (const part of ['text_encoder', 'unet', 'vae_decoder']) {
    const t = performance.now();
    parts[part] = await ort.InferenceSession.create(path.join(settings.folder, part, 'model.onnx'));
    detail[`create ${part} s`] = seconds(t);
  }
  const loadSeconds = seconds(start);
  const loadedRssGb = rssGb();
  const run = performance.now();
  const text = parts.text_encoder!;
  const idsType = text.inputMetadata[0]?.isTensor ? text.inputMetadata[0].type : 'int32';
  const ids = idsType === 'int64' ? new BigInt64Array(2 * 77).fill(1n) : new Int32Array(2 * 77).fill(1);
  const states = (await text.run({ input_ids: new ort.Tensor(idsType as 'int32', ids as Int32Array, [2, 77]) })).last_hidden_state!;
  const latent = settings.size / 8;
  const sample = new ort.Tensor('float32', new Float32Array(2 * 4 * latent * latent).fill(0.1), [2, 4, latent, latent]);
  const unet = parts.unet!;
  const timestepInfo = unet.inputMetadata.find((m) => m.name === 'timestep');
  const scalar = timestepInfo?.isTensor && timestepInfo.shape.length === 0;
  const stepStart = performance.now();
  for (let step = 0; step < settings.steps; step++) {
    const timestep = new ort.Tensor('float32', new Float32Array(scalar ? 1 : 2).fill(981), scalar ? [] : [2]);
    await unet.run({ sample, timestep, encoder_hidden_states: states });
  }
  const stepSeconds = seconds(stepStart) / settings.steps;
  await parts.vae_decoder!.run({ latent_sample: new ort.Tensor('float32', new Float32Array(4 * latent * latent), [1, 4, latent, latent]) });
  detail['text+unet+decode s'] = seconds(run);
  return { scenario: 'bare', loadSeconds, stepSeconds, totalSeconds: seconds(start), peakRssGb: peakGb(), loadedRssGb, detail };
}

async function latentkit(settings: Settings, scenario: string): Promise<Report> {
  const lean = scenario === 'lean';
  const start = performance.now();
  const pipeline = await StableDiffusionPipeline.fromPretrained(settings.folder, {
    sessionOptions: { optimizedModelCache: settings.cache, ...(lean ? { enableCpuMemArena: false, enableMemPattern: false } : {}) } as never,
    guidanceMode: lean ? 'sequential' : 'batched',
    ...(scenario === 'ort' ? { attention: 'onnxruntime' as const } : {}),
  });
  const loadSeconds = seconds(start);
  const loadedRssGb = rssGb();
  const timings = new StageTimings();
  let stepStart = 0;
  const stepTimes: number[] = [];
  const afterLoad = performance.now();
  await pipeline.textToImage({
    prompt: 'a photograph of an astronaut riding a horse',
    numInferenceSteps: settings.steps,
    width: settings.size,
    height: settings.size,
    seed: 1,
    timings,
    onStep: () => {
      if (stepStart) stepTimes.push(seconds(stepStart));
      stepStart = performance.now();
    },
  });
  const detail: Record<string, number | string> = {};
  for (const [stage, { ms, calls }] of Object.entries(timings.summary().stages)) detail[`${stage} s (${calls} calls)`] = Math.round(ms / 10) / 100;
  await pipeline.dispose();
  const stepSeconds = stepTimes.length > 0 ? stepTimes.reduce((a, b) => a + b, 0) / stepTimes.length : seconds(afterLoad) / settings.steps;
  return { scenario, loadSeconds, stepSeconds, totalSeconds: seconds(start), peakRssGb: peakGb(), loadedRssGb, detail };
}

function torchBench(settings: Settings): Report | undefined {
  const torchFolder = `${settings.folder.replace(/\/$/, '')}.torch`;
  const script = path.resolve(__dirname, '../../../tools/sd-export/bench_torch.py');
  const result = spawnSync('/usr/bin/python3', [script, '--torch', torchFolder, '--steps', String(settings.steps), '--size', String(settings.size)], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  const line = result.stdout?.trim().split('\n').pop();
  if (result.status !== 0 || !line?.startsWith('{')) {
    console.error(`torch: skipped (${(result.stderr ?? '').trim().split('\n').pop() ?? `exit ${result.status}`})`);
    return undefined;
  }
  return JSON.parse(line) as Report;
}

function child(scenario: string, settings: Settings): Report | undefined {
  const result = spawnSync(process.execPath, [...process.execArgv, __filename, '--child', scenario, JSON.stringify(settings)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 24,
  });
  const line = result.stdout.trim().split('\n').pop();
  if (result.status !== 0 || !line?.startsWith('{')) {
    console.error(`${scenario}: failed (exit ${result.status})`);
    return undefined;
  }
  return JSON.parse(line) as Report;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') {
    const settings = JSON.parse(args[2]!) as Settings;
    const report = args[1] === 'bare' ? await bare(settings) : await latentkit(settings, args[1]!);
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return;
  }
  // The first argument that is neither an option nor an option's value.
  const valued = new Set(['--steps', '--size', '--runs', '--only']);
  const folder = args.find((a, i) => !a.startsWith('--') && !valued.has(args[i - 1] ?? '')) ?? process.env.LATENTKIT_REAL_MODEL;
  if (!folder) {
    console.error('usage: pnpm bench:real -- <model folder> [--steps N] [--size PX] [--runs N] [--torch] [--only bare,cold,warm,lean,ort]');
    process.exitCode = 2;
    return;
  }
  const option = (name: string, fallback: number) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : fallback;
  };
  const onlyIndex = args.indexOf('--only');
  const only = onlyIndex >= 0 ? args[onlyIndex + 1]!.split(',') : ['bare', 'cold', 'warm', 'lean', 'ort'];
  const cache = await fs.mkdtemp(path.join(os.tmpdir(), 'latentkit-bench-cache-'));
  const settings: Settings = { folder: path.resolve(folder), steps: option('--steps', 2), size: option('--size', 512), cache };
  console.log(`model ${settings.folder}, ${settings.size}×${settings.size}, ${settings.steps} steps, ${os.cpus().length} CPUs, load average ${os.loadavg()[0]!.toFixed(1)}`);
  const reports: Report[] = [];
  for (let run = 0; run < option('--runs', 1); run++) {
    for (const scenario of only) {
      const report = child(scenario, settings);
      if (report) {
        reports.push(report);
        console.log(JSON.stringify(report));
      }
    }
  }
  if (args.includes('--torch')) {
    const report = torchBench(settings);
    if (report) {
      reports.push(report);
      console.log(JSON.stringify(report));
    }
  }
  await fs.rm(cache, { recursive: true, force: true });
  console.log('\nscenario  load s  s/step  peak RSS GB  RSS after load GB');
  for (const r of reports) {
    console.log(`${r.scenario.padEnd(8)}  ${String(r.loadSeconds).padStart(6)}  ${r.stepSeconds.toFixed(2).padStart(6)}  ${String(r.peakRssGb).padStart(11)}  ${String(r.loadedRssGb).padStart(17)}`);
  }
}

void main();
