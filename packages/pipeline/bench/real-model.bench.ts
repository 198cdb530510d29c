/**
 * `pnpm bench:real -- <model folder> [--steps N] [--size PX] [--runs N] [--only …] [--cache DIR] [--torch]`: load time,
 * seconds per step and peak RSS of a real-size Stable Diffusion ONNX folder (e.g. the SD 1.5
 * export tools/sd-export builds), for latentkit and for a bare onnxruntime loop on the same files,
 * and — with `--torch`, where `<folder>.torch` and /usr/bin/python3 with torch exist — diffusers +
 * torch on the same weights. Not part of CI: it needs gigabytes of memory and minutes.
 *
 * Every scenario runs in a fresh child process, so that its peak RSS (getrusage's ru_maxrss) is
 * its own. Scenarios:
 *  - bare:        ort.InferenceSession.create of text_encoder, unet, vae_decoder (default options),
 *                 then the same text → UNet (batch 2) → decode loop latentkit runs.
 *  - cold / warm: StableDiffusionPipeline.fromPretrained with an empty, then a filled cache
 *                 (optimized models, the UNet's partition and its optimized segments), then textToImage.
 *  - release:     warm with `releaseTextEncoder` (the text encoder closed once the prompts are encoded).
 *  - lean:        warm, plus sequential guidance and onnxruntime's CPU arena and memory patterns off.
 *  - ort-cold / ort: cold / warm with `attention: 'onnxruntime'` (the whole UNet graph in one
 *                 session), the baseline for the native attention the other scenarios use by default.
 *
 * Figures per scenario: load wall time and CPU time (user + system: steadier than wall time on a
 * shared machine), the load's steps per part (`loadReport`: sessions opened, the UNet's partition,
 * cache hits), and the memory split: the part files' bytes (weights), RSS after load, the peak up to
 * the last UNet step and the whole run's peak (onnxruntime's arena and activations = peak − after
 * load; the decode's own share = run peak − UNet peak), and what the text encoder and VAE hold
 * (RSS freed by closing each after the run). `--cache DIR` keeps the cache between invocations
 * (default: a fresh temporary folder per invocation, removed at the end); `cold` and `ort-cold`
 * empty it first (`clearOptimizedModelCache`: latentkit's entries only), at every run.
 */
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { releaseFreedMemory } from '@latentkit/native';
import { clearOptimizedModelCache } from '@latentkit/onnx';
import { StableDiffusionPipeline, StageTimings, type LoadReport } from '../src/index';

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
  /** User + system CPU seconds of the load. */
  loadCpuSeconds?: number;
  /** Bytes of the parts' files (text_encoder, unet, vae_decoder), GB. */
  weightsGb?: number;
  /** Peak RSS up to the last UNet step, GB. */
  unetPeakRssGb?: number;
  /** peak − RSS after load: onnxruntime's arena and activations (and the decode's, where larger), GB. */
  runGrowthGb?: number;
  /** RSS freed by closing the text encoder, then the VAE, after the run, GB. */
  textEncoderHeldGb?: number;
  vaeHeldGb?: number;
  load?: Record<string, string>;
  detail?: Record<string, number | string>;
}

const gb = (kilobytes: number) => Math.round((kilobytes / 1024 / 1024) * 100) / 100;
const rssGb = () => Math.round((process.memoryUsage().rss / 2 ** 30) * 100) / 100;
const peakGb = () => gb(process.resourceUsage().maxRSS);
const seconds = (since: number) => Math.round((performance.now() - since) / 10) / 100;
const cpuSeconds = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return Math.round((used.user + used.system) / 1e4) / 100;
};
const round2 = (value: number) => Math.round(value * 100) / 100;

/** GB of the files in the folders of the parts a generation loads. */
async function weightsGb(folder: string): Promise<number> {
  let bytes = 0;
  for (const part of ['text_encoder', 'unet', 'vae_decoder']) {
    for (const name of await fs.readdir(path.join(folder, part))) bytes += (await fs.stat(path.join(folder, part, name))).size;
  }
  return round2(bytes / 2 ** 30);
}

/** RSS freed by `close` (after returning freed heap memory to the system), GB. */
async function heldBy(close: () => Promise<unknown> | unknown): Promise<number> {
  releaseFreedMemory();
  const before = process.memoryUsage().rss;
  await close();
  releaseFreedMemory();
  return round2((before - process.memoryUsage().rss) / 2 ** 30);
}

/** One line per part: total seconds, and the steps by kind and cache state. */
function summarizeLoad(report: LoadReport): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [part, { milliseconds, steps }] of Object.entries(report.parts)) {
    const groups = new Map<string, { ms: number; count: number }>();
    for (const step of steps) {
      const key = `${step.kind} ${step.cache}`;
      const group = groups.get(key) ?? { ms: 0, count: 0 };
      group.ms += step.milliseconds;
      group.count += 1;
      groups.set(key, group);
    }
    const detail = [...groups].map(([key, { ms, count }]) => `${count}× ${key} ${(ms / 1000).toFixed(2)} s`).join(', ');
    out[part] = `${(milliseconds / 1000).toFixed(2)} s (${detail})`;
  }
  return out;
}

async function bare(settings: Settings): Promise<Report> {
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  const parts: Record<string, ort.InferenceSession> = {};
  const detail: Record<string, number> = {};
  for (const part of ['text_encoder', 'unet', 'vae_decoder']) {
    const t = performance.now();
    parts[part] = await ort.InferenceSession.create(path.join(settings.folder, part, 'model.onnx'));
    detail[`create ${part} s`] = seconds(t);
  }
  const loadSeconds = seconds(start);
  const loadCpuSeconds = cpuSeconds(cpuStart);
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
  const unetPeakRssGb = peakGb();
  await parts.vae_decoder!.run({ latent_sample: new ort.Tensor('float32', new Float32Array(4 * latent * latent), [1, 4, latent, latent]) });
  detail['text+unet+decode s'] = seconds(run);
  const totalSeconds = seconds(start);
  const peakRssGb = peakGb();
  const textEncoderHeldGb = await heldBy(() => text.release());
  const vaeHeldGb = await heldBy(() => parts.vae_decoder!.release());
  return {
    scenario: 'bare', loadSeconds, loadCpuSeconds, stepSeconds, totalSeconds, peakRssGb, loadedRssGb, weightsGb: await weightsGb(settings.folder),
    unetPeakRssGb, runGrowthGb: round2(peakRssGb - loadedRssGb), textEncoderHeldGb, vaeHeldGb, detail,
  };
}

async function latentkit(settings: Settings, scenario: string): Promise<Report> {
  const lean = scenario === 'lean';
  const wholeGraph = scenario === 'ort' || scenario === 'ort-cold';
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  const pipeline = await StableDiffusionPipeline.fromPretrained(settings.folder, {
    sessionOptions: { optimizedModelCache: settings.cache, ...(lean ? { enableCpuMemArena: false, enableMemPattern: false } : {}) } as never,
    cacheDir: settings.cache,
    guidanceMode: lean ? 'sequential' : 'batched',
    releaseTextEncoder: scenario === 'release',
    ...(wholeGraph ? { attention: 'onnxruntime' as const } : {}),
  });
  const loadSeconds = seconds(start);
  const loadCpuSeconds = cpuSeconds(cpuStart);
  const loadedRssGb = rssGb();
  const timings = new StageTimings();
  let stepStart = 0;
  let unetPeakRssGb = 0;
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
      unetPeakRssGb = peakGb();
    },
  });
  const totalSeconds = seconds(start);
  const peakRssGb = peakGb();
  const detail: Record<string, number | string> = {};
  for (const [stage, { ms, calls }] of Object.entries(timings.summary().stages)) detail[`${stage} s (${calls} calls)`] = Math.round(ms / 10) / 100;
  const textEncoderHeldGb = await heldBy(() => pipeline.textEncoder?.dispose?.());
  const vaeHeldGb = await heldBy(() => pipeline.vae.dispose?.());
  await pipeline.dispose();
  const stepSeconds = stepTimes.length > 0 ? stepTimes.reduce((a, b) => a + b, 0) / stepTimes.length : seconds(afterLoad) / settings.steps;
  return {
    scenario, loadSeconds, loadCpuSeconds, stepSeconds, totalSeconds, peakRssGb, loadedRssGb, weightsGb: await weightsGb(settings.folder),
    unetPeakRssGb, runGrowthGb: round2(peakRssGb - loadedRssGb), textEncoderHeldGb, vaeHeldGb, load: summarizeLoad(pipeline.loadReport!), detail,
  };
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
  const valued = new Set(['--steps', '--size', '--runs', '--only', '--cache']);
  const folder = args.find((a, i) => !a.startsWith('--') && !valued.has(args[i - 1] ?? '')) ?? process.env.LATENTKIT_REAL_MODEL;
  if (!folder) {
    console.error('usage: pnpm bench:real -- <model folder> [--steps N] [--size PX] [--runs N] [--torch] [--cache DIR] [--only bare,cold,warm,release,lean,ort-cold,ort]');
    process.exitCode = 2;
    return;
  }
  const option = (name: string, fallback: number) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : fallback;
  };
  const onlyIndex = args.indexOf('--only');
  const only = onlyIndex >= 0 ? args[onlyIndex + 1]!.split(',') : ['bare', 'cold', 'warm', 'release', 'lean', 'ort-cold', 'ort'];
  const cacheIndex = args.indexOf('--cache');
  const cache = cacheIndex >= 0 ? path.resolve(args[cacheIndex + 1]!) : await fs.mkdtemp(path.join(os.tmpdir(), 'latentkit-bench-cache-'));
  const settings: Settings = { folder: path.resolve(folder), steps: option('--steps', 2), size: option('--size', 512), cache };
  console.log(`model ${settings.folder}, ${settings.size}×${settings.size}, ${settings.steps} steps, ${os.cpus().length} CPUs, load average ${os.loadavg()[0]!.toFixed(1)}`);
  const reports: Report[] = [];
  for (let run = 0; run < option('--runs', 1); run++) {
    for (const scenario of only) {
      // A cold load starts from an empty cache every time: with --runs 2, or after another
      // scenario filled it, it would otherwise be a warm load under another name.
      if (scenario === 'cold' || scenario === 'ort-cold') await clearOptimizedModelCache(cache);
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
  if (cacheIndex < 0) await fs.rm(cache, { recursive: true, force: true });
  const column = (value: number | undefined, width: number) => (value === undefined ? '' : String(value)).padStart(width);
  console.log('\nscenario  load s  load CPU s  s/step  peak RSS GB  after load GB  UNet peak GB  peak−load GB  text enc GB  VAE GB  (weights GB)');
  for (const r of reports) {
    console.log(
      `${r.scenario.padEnd(8)}  ${column(r.loadSeconds, 6)}  ${column(r.loadCpuSeconds, 10)}  ${r.stepSeconds.toFixed(2).padStart(6)}  ${column(r.peakRssGb, 11)}  ` +
        `${column(r.loadedRssGb, 13)}  ${column(r.unetPeakRssGb, 12)}  ${column(r.runGrowthGb, 12)}  ${column(r.textEncoderHeldGb, 11)}  ${column(r.vaeHeldGb, 6)}  ${column(r.weightsGb, 12)}`,
    );
  }
  for (const r of reports) if (r.load) console.log(`${r.scenario} load: ${Object.entries(r.load).map(([part, line]) => `${part} ${line}`).join('; ')}`);
}

void main();
