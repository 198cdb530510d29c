/**
 * `latentkit worker`: takes jobs from the BullMQ queue and runs them on a model held in memory.
 *
 * - Progress and previews go out with `job.updateProgress` (the server hears them as QueueEvents).
 * - A worker that dies mid-job stops renewing the job's lock; another worker's stalled-job check
 *   puts the job back in the queue and it runs again (up to `maxStalledCount` times).
 * - Cancels arrive on a Redis channel; the job stops between steps and completes as interrupted.
 * - `close()` lets the running jobs finish for `graceMs`, then hands them back to the queue.
 */
import { hostname } from 'node:os';
import { InvalidArgumentError } from '@latentkit/core';
import { UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { GenerationJob } from './generation-job';
import { GenerationRunner } from './generation-runner';
import { CONNECT_TIMEOUT_MS, DEFAULT_QUEUE_NAME, INVALID_ARGUMENT_MARK, SHUTDOWN_REASON, cancelChannel, withTimeout } from './queue-names';
import { redactUrl } from './queue-backend';
import { FileResultStore, RedisResultStore, type ResultReference, type ResultStore } from './result-store';
import type { ModelEntry } from './server-options';
import type { PipelineLoadOptions } from '@latentkit/pipeline';

/** Options of {@link startQueueWorker}. */
export interface QueueWorkerOptions {
  readonly url: string;
  readonly queueName?: string;
  /** The models this worker runs (default: the bundled latentkit-tiny). */
  readonly models: readonly ModelEntry[];
  /** Jobs at once (default 1). */
  readonly concurrency?: number;
  /** Write results as files here instead of into Redis. */
  readonly resultsFolder?: string;
  /** How long results stay in Redis, in seconds (default 3600). */
  readonly resultTtlSeconds?: number;
  /** How long a job's lock lasts without renewal, in ms (BullMQ default 30 000): a dead worker's job is retried after about this long. */
  readonly lockDurationMs?: number;
  /** How often stalled jobs are looked for, in ms (default: lockDurationMs). */
  readonly stalledIntervalMs?: number;
  /** How many times a job may be taken back from dead workers before it fails (default 2). */
  readonly maxStalledCount?: number;
  readonly loadOptions?: PipelineLoadOptions;
  /** Load these models before taking jobs (default: the first). */
  readonly preload?: readonly string[];
  readonly name?: string;
  readonly log?: (message: string, error?: unknown) => void;
}

/** A running worker. */
export interface QueueWorker {
  readonly name: string;
  readonly worker: Worker;
  /** Finishes the running jobs (for up to `graceMs`, default 30 s, then hands them back) and disconnects. */
  close(graceMs?: number): Promise<void>;
}

/**
 * Starts a worker.
 *
 * @example
 * ```ts
 * const worker = await startQueueWorker({ url: 'redis://127.0.0.1:6379', models: [{ name: 'latentkit-tiny' }] });
 * process.on('SIGTERM', () => void worker.close());
 * ```
 */
export async function startQueueWorker(options: QueueWorkerOptions): Promise<QueueWorker> {
  const name = options.name ?? `${hostname()}:${process.pid}`;
  const queueName = options.queueName ?? DEFAULT_QUEUE_NAME;
  const log = options.log ?? (() => undefined);
  const runner = new GenerationRunner({ models: options.models, loadOptions: options.loadOptions, workerName: name });
  for (const model of options.preload ?? options.models.slice(0, 1).map((m) => m.name)) await runner.pipeline(model);

  const redis = new Redis(options.url, { maxRetriesPerRequest: null, lazyConnect: true });
  const subscriber = new Redis(options.url, { maxRetriesPerRequest: null, lazyConnect: true });
  // Connection errors repeat on every retry: log each kind once until connected.
  const logged = new Set<string>();
  const logOnce = (what: string) => (error: unknown): void => {
    const key = `${what}:${error instanceof Error ? error.message : String(error)}`;
    if (logged.has(key)) return;
    logged.add(key);
    log(what, error);
  };
  redis.on('error', logOnce('redis error'));
  subscriber.on('error', logOnce('redis subscriber error'));
  try {
    await withTimeout(Promise.all([redis.connect(), subscriber.connect()]), CONNECT_TIMEOUT_MS, `no answer within ${CONNECT_TIMEOUT_MS / 1000} s`);
  } catch (error) {
    redis.disconnect();
    subscriber.disconnect();
    await runner.dispose();
    throw new Error(`cannot reach Redis at ${redactUrl(options.url)}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const store: ResultStore = options.resultsFolder
    ? new FileResultStore(options.resultsFolder)
    : new RedisResultStore(redis, `latentkit:${queueName}`, options.resultTtlSeconds ?? 3600);

  const processor = async (job: Job<GenerationJob, ResultReference>, token?: string, signal?: AbortSignal): Promise<ResultReference> => {
    let output;
    try {
      output = await runner.run(job.data, { signal, onProgress: (progress) => job.updateProgress({ ...progress }) });
    } catch (error) {
      if (InvalidArgumentError.isInstance(error)) {
        throw new UnrecoverableError(`${INVALID_ARGUMENT_MARK}${JSON.stringify({ argument: error.argumentName, message: error.message })}`);
      }
      log(`job ${job.id} failed`, error);
      throw new UnrecoverableError(error instanceof Error ? error.message : String(error));
    }
    if (signal?.aborted && signal.reason === SHUTDOWN_REASON) {
      // Shutting down: hand the job back whole rather than complete it half done.
      await job.moveToWait(token);
      throw new WaitingError();
    }
    return store.save(job.id!, output);
  };

  const lockDuration = options.lockDurationMs ?? 30_000;
  const worker = new Worker<GenerationJob, ResultReference>(queueName, processor, {
    connection: { url: options.url },
    concurrency: Math.max(1, options.concurrency ?? 1),
    lockDuration,
    stalledInterval: options.stalledIntervalMs ?? lockDuration,
    maxStalledCount: options.maxStalledCount ?? 2,
    name,
  });
  worker.on('error', logOnce('worker error'));
  try {
    await withTimeout(worker.waitUntilReady(), CONNECT_TIMEOUT_MS, `BullMQ's worker connection did not open within ${CONNECT_TIMEOUT_MS / 1000} s`);
  } catch (error) {
    await withTimeout(Promise.allSettled([worker.disconnect()]), 2000, 'disconnect').catch(() => undefined);
    redis.disconnect();
    subscriber.disconnect();
    await runner.dispose();
    throw error;
  }

  await subscriber.subscribe(cancelChannel(queueName));
  subscriber.on('message', (_channel, jobId: string) => {
    if (worker.cancelJob(jobId, 'cancelled by a client')) log(`job ${jobId} cancelled`);
  });

  let closing: Promise<void> | undefined;
  return {
    name,
    worker,
    close(graceMs = 30_000) {
      closing ??= (async () => {
        subscriber.disconnect();
        const timer = setTimeout(() => worker.cancelAllJobs(SHUTDOWN_REASON), graceMs);
        try {
          await worker.close();
        } finally {
          clearTimeout(timer);
          redis.disconnect();
          await runner.dispose();
        }
      })();
      return closing;
    },
  };
}
