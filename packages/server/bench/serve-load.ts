/**
 * A bounded load run on loopback: `latentkit serve --queue` in this process, N `latentkit worker`
 * processes (the CLI's dist/bin.js), C concurrent A1111 clients sending J txt2img jobs with
 * distinct seeds, and optionally one worker SIGKILLed mid-job. Checks that every job completes
 * exactly once with its own seed and that the killed worker's job completes on another worker.
 * Used by `pnpm bench:serve` (200 jobs, 20 clients, 2 workers) and by a small jest test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Queue } from 'bullmq';
import { createServer } from '../src/index';

/** Options of {@link runServeLoad}. */
export interface ServeLoadOptions {
  readonly redisUrl: string;
  readonly jobs: number;
  readonly clients: number;
  readonly workers: number;
  readonly steps: number;
  /** SIGKILL one worker while it runs a job, once this many jobs have completed (undefined: no kill). */
  readonly killAfter?: number;
  /** A worker's job lock, in ms: its job is retried elsewhere about this long after it dies. */
  readonly lockDurationMs?: number;
  /** Give up after this long (ms). */
  readonly timeoutMs?: number;
  readonly log?: (line: string) => void;
}

/** What a load run measured and checked. */
export interface ServeLoadReport {
  readonly jobs: number;
  readonly completed: number;
  readonly failed: number;
  /** Requests whose response did not hold exactly their own seed's single image. */
  readonly wrong: number;
  /** Seeds returned more than once over all responses. */
  readonly duplicated: number;
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly max: number };
  readonly elapsedMs: number;
  readonly throughputPerSecond: number;
  /** Images each worker produced (by worker name). */
  readonly perWorker: Readonly<Record<string, number>>;
  /** The worker killed, and the jobs it held, with the worker that completed each afterwards. */
  readonly kill?: { readonly worker: string; readonly jobs: { readonly id: string; readonly completedBy: string | undefined }[] };
  /** BullMQ's own counts at the end. */
  readonly queueCounts: Readonly<Record<string, number>>;
}

/** The CLI's built entry point (the workers are real `latentkit worker` processes). */
export function cliBinPath(): string {
  const bin = path.resolve(__dirname, '../../cli/dist/bin.js');
  if (!existsSync(bin)) throw new Error(`${bin} is missing: build the CLI first (pnpm --filter @latentkit/cli... build)`);
  return bin;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

interface WorkerProcess {
  readonly child: ChildProcess;
  readonly name: string;
  exited: boolean;
}

function startWorker(redisUrl: string, queueName: string, lockDurationMs: number, log: (line: string) => void): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [cliBinPath(), 'worker', '--queue', redisUrl, '--queue-name', queueName, '--lock-duration', String(lockDurationMs), '--threads', '1', '--grace', '2000'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' },
  });
  const worker: WorkerProcess = { child, name: '', exited: false };
  child.once('exit', () => (worker.exited = true));
  child.stderr!.on('data', (chunk: Buffer) => log(`[worker ${child.pid}] ${chunk.toString().trim()}`));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('a worker did not start within 60 s')), 60_000);
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /latentkit worker (\S+): model .* taking jobs/.exec(output);
      if (match && !worker.name) {
        clearTimeout(timer);
        (worker as { name: string }).name = match[1]!;
        resolve(worker);
      }
    });
    child.once('exit', (code) => reject(new Error(`a worker exited with ${code} before taking jobs`)));
  });
}

async function stopWorker(worker: WorkerProcess): Promise<void> {
  if (worker.exited) return;
  const exited = new Promise((resolve) => worker.child.once('exit', resolve));
  worker.child.kill('SIGTERM');
  const timer = setTimeout(() => worker.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/**
 * Runs the load and returns the report (it throws only when the setup fails or time runs out).
 *
 * @example
 * ```ts
 * const report = await runServeLoad({ redisUrl, jobs: 200, clients: 20, workers: 2, steps: 10, killAfter: 40 });
 * ```
 */
export async function runServeLoad(options: ServeLoadOptions): Promise<ServeLoadReport> {
  const log = options.log ?? (() => undefined);
  const queueName = `load-${randomUUID()}`;
  const lockDurationMs = options.lockDurationMs ?? 4000;
  const server = await createServer({ queue: { url: options.redisUrl, queueName }, limits: { maxImages: 1 }, previewEvery: 0 });
  const queue = new Queue(queueName, { connection: { url: options.redisUrl } });
  const workers: WorkerProcess[] = [];
  try {
    const base = await server.listen({ port: 0, host: '127.0.0.1' });
    for (let i = 0; i < options.workers; i++) workers.push(await startWorker(options.redisUrl, queueName, lockDurationMs, log));
    log(`server ${base}, queue ${queueName}, workers ${workers.map((w) => w.name).join(', ')}`);

    const latencies: number[] = [];
    const seedsSeen = new Map<number, number>();
    const perWorker: Record<string, number> = {};
    const completedBy = new Map<string, string>();
    let next = 0;
    let completed = 0;
    let failed = 0;
    let wrong = 0;
    let kill: { worker: string; jobs: string[] } | undefined;
    let killing: Promise<void> | undefined;

    const killOne = async (): Promise<void> => {
      const victim = workers[0]!;
      // Kill while it holds a job: wait until BullMQ shows one of its jobs active.
      for (let i = 0; i < 200; i++) {
        const held = (await queue.getActive()).filter((job) => job.processedBy === victim.name).map((job) => job.id!);
        if (held.length > 0) {
          victim.child.kill('SIGKILL');
          kill = { worker: victim.name, jobs: held };
          log(`SIGKILLed ${victim.name} holding job(s) ${held.join(', ')}`);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      throw new Error(`worker ${victim.name} never held a job to kill`);
    };

    const started = performance.now();
    const client = async (): Promise<void> => {
      while (next < options.jobs) {
        const index = next++;
        const seed = 100_000 + index;
        const sent = performance.now();
        try {
          const response = await fetch(`${base}/sdapi/v1/txt2img`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ prompt: 'a red circle on a blue background', sampler_name: 'DDIM', steps: options.steps, cfg_scale: 5, seed }),
          });
          const body = (await response.json()) as { images?: string[]; info?: string };
          latencies.push(performance.now() - sent);
          if (response.status !== 200 || !body.info) {
            failed++;
            log(`job ${index}: HTTP ${response.status} ${JSON.stringify(body).slice(0, 200)}`);
            continue;
          }
          const info = JSON.parse(body.info) as { all_seeds: number[]; worker: string };
          if (body.images?.length !== 1 || info.all_seeds.length !== 1 || info.all_seeds[0] !== seed) wrong++;
          for (const s of info.all_seeds) seedsSeen.set(s, (seedsSeen.get(s) ?? 0) + 1);
          perWorker[info.worker] = (perWorker[info.worker] ?? 0) + 1;
          completedBy.set(String(seed), info.worker);
          completed++;
          if (options.killAfter !== undefined && completed >= options.killAfter && !killing) killing = killOne();
        } catch (error) {
          failed++;
          log(`job ${index}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    };
    const timeout = new Promise<never>((_, reject) => {
      const timer = setTimeout(() => reject(new Error(`the load run did not finish within ${options.timeoutMs ?? 600_000} ms`)), options.timeoutMs ?? 600_000);
      timer.unref();
    });
    await Promise.race([Promise.all(Array.from({ length: options.clients }, client)), timeout]);
    await killing;
    const elapsedMs = performance.now() - started;

    const killReport = kill
      ? {
          worker: kill.worker,
          jobs: await Promise.all(
            kill.jobs.map(async (id) => {
              const record = server.tracker.get(id);
              const seed = record?.job.seeds[0];
              return { id, completedBy: seed === undefined ? undefined : completedBy.get(String(seed)) };
            }),
          ),
        }
      : undefined;
    const sorted = [...latencies].sort((a, b) => a - b);
    return {
      jobs: options.jobs,
      completed,
      failed,
      wrong,
      duplicated: [...seedsSeen.values()].filter((count) => count > 1).length,
      latencyMs: { p50: percentile(sorted, 50), p95: percentile(sorted, 95), max: sorted[sorted.length - 1] ?? Number.NaN },
      elapsedMs,
      throughputPerSecond: (completed / elapsedMs) * 1000,
      perWorker,
      kill: killReport,
      queueCounts: await queue.getJobCounts('completed', 'failed', 'active', 'waiting', 'prioritized', 'delayed'),
    };
  } finally {
    await Promise.all(workers.map(stopWorker));
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    await server.close();
  }
}
