/**
 * The server side of scale-out: jobs go into a BullMQ queue on Redis and `latentkit worker`s run
 * them. Progress, previews, completion and failure come back through BullMQ's `QueueEvents`
 * (a Redis stream), results through the {@link ResultStore} the workers write to. Cancelling a
 * queued job removes it; cancelling a running one is published on a Redis channel every worker
 * listens to, and the worker holding it aborts it between steps.
 */
import { randomUUID } from 'node:crypto';
import { Job, Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import type { GenerationBackend, SubmitOptions } from './generation-backend';
import type { GenerationJob, JobProgress } from './generation-job';
import type { JobTracker } from './job-tracker';
import { CONNECT_TIMEOUT_MS, DEFAULT_QUEUE_NAME, INVALID_ARGUMENT_MARK, bullmqPriority, cancelChannel, withTimeout } from './queue-names';
import { fromInvalidArgument } from './request-errors';
import { loadResult, type ResultReference } from './result-store';

/** Options of {@link QueueBackend.connect}. */
export interface QueueBackendOptions {
  /** `redis://host:port/db`. */
  readonly url: string;
  readonly queueName?: string;
  /** Where file results are read from (the workers' `--results-dir`). */
  readonly resultsFolder?: string;
  /** How long finished BullMQ job records stay in Redis, in seconds (default 3600). */
  readonly keepJobsSeconds?: number;
  readonly log?: (message: string, error?: unknown) => void;
}

/**
 * Jobs through BullMQ.
 *
 * @example
 * ```ts
 * const backend = await QueueBackend.connect(tracker, { url: 'redis://127.0.0.1:6379' });
 * const id = await backend.submit(job, { priority: 10 });
 * ```
 */
export class QueueBackend implements GenerationBackend {
  readonly mode = 'queue';
  private closed = false;

  private constructor(
    private readonly tracker: JobTracker,
    private readonly queue: Queue,
    private readonly events: QueueEvents,
    private readonly redis: Redis,
    private readonly options: QueueBackendOptions,
  ) {
    events.on('active', ({ jobId }) => tracker.started(jobId));
    events.on('progress', ({ jobId, data }) => {
      if (typeof data === 'object' && data !== null) tracker.progress(jobId, data as JobProgress);
    });
    events.on('completed', ({ jobId, returnvalue }) => void this.complete(jobId, returnvalue));
    events.on('failed', ({ jobId, failedReason }) => this.fail(jobId, failedReason));
    events.on('removed', ({ jobId }) => tracker.cancelled(jobId));
    events.on('error', (error) => options.log?.('queue events error', error));
    queue.on('error', (error) => options.log?.('queue error', error));
    redis.on('error', (error) => options.log?.('redis error', error));
  }

  /** Connects to Redis and starts listening for the queue's events. */
  static async connect(tracker: JobTracker, options: QueueBackendOptions): Promise<QueueBackend> {
    const name = options.queueName ?? DEFAULT_QUEUE_NAME;
    const connection = { url: options.url };
    const keep = options.keepJobsSeconds ?? 3600;
    const queue = new Queue(name, {
      connection,
      defaultJobOptions: { attempts: 1, removeOnComplete: { age: keep }, removeOnFail: { age: keep } },
    });
    const events = new QueueEvents(name, { connection });
    const redis = new Redis(options.url, { maxRetriesPerRequest: 3, lazyConnect: true });
    // Until the constructor attaches the real handlers: connection errors while connecting are reported once, below.
    let firstError: unknown;
    const remember = (error: unknown): void => void (firstError ??= error);
    for (const emitter of [queue, events, redis] as { on(event: 'error', listener: (error: unknown) => void): unknown }[]) emitter.on('error', remember);
    try {
      await withTimeout(Promise.all([queue.waitUntilReady(), events.waitUntilReady(), redis.connect()]), CONNECT_TIMEOUT_MS, `no answer within ${CONNECT_TIMEOUT_MS / 1000} s`);
    } catch (error) {
      redis.disconnect();
      // close() waits for a connection that never came: disconnect and move on.
      await withTimeout(Promise.allSettled([queue.disconnect(), events.disconnect()]), 2000, 'disconnect').catch(() => undefined);
      const cause = firstError ?? error;
      throw new Error(`cannot reach Redis at ${redactUrl(options.url)}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    }
    for (const emitter of [queue, events, redis] as { off(event: 'error', listener: (error: unknown) => void): unknown }[]) emitter.off('error', remember);
    return new QueueBackend(tracker, queue, events, redis, options);
  }

  async submit(job: GenerationJob, options: SubmitOptions = {}): Promise<string> {
    if (this.closed) throw new Error('the server is shutting down');
    // Our own id, registered before the job exists, so that no event can arrive for an unknown job.
    const id = randomUUID();
    this.tracker.create(id, job);
    try {
      await this.queue.add('generate', job, { jobId: id, priority: bullmqPriority(options.priority) });
    } catch (error) {
      this.options.log?.(`cannot queue job ${id}`, error);
      this.tracker.failed(id, { status: 503, detail: 'the job queue is unavailable' });
    }
    return id;
  }

  async cancel(id: string): Promise<boolean> {
    const job = await Job.fromId(this.queue, id);
    if (!job) return false;
    const state = await job.getState();
    if (state === 'completed' || state === 'failed') return false;
    if (state !== 'active') {
      try {
        await job.remove();
        this.tracker.cancelled(id);
        return true;
      } catch {
        // A worker took it meanwhile: ask that worker to stop.
      }
    }
    await this.redis.publish(cancelChannel(this.queue.name), id);
    return true;
  }

  /** Job counts by state (waiting, active, completed, …), for health checks and tests. */
  counts(): Promise<Record<string, number>> {
    return this.queue.getJobCounts();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.tracker.failAll('the server is shutting down');
    await Promise.allSettled([this.events.close(), this.queue.close()]);
    this.redis.disconnect();
  }

  private async complete(jobId: string, returnvalue: unknown): Promise<void> {
    if (!this.tracker.get(jobId)) return;
    try {
      const reference = (typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue) as ResultReference;
      this.tracker.completed(jobId, await loadResult(reference, { redis: this.redis, resultsFolder: this.options.resultsFolder }));
    } catch (error) {
      this.options.log?.(`cannot load the result of job ${jobId}`, error);
      this.tracker.failed(jobId, { status: 500, detail: 'the job finished but its result cannot be read: see the server log' });
    }
  }

  private fail(jobId: string, reason: string): void {
    if (!this.tracker.get(jobId)) return;
    if (reason.startsWith(INVALID_ARGUMENT_MARK)) {
      try {
        const { argument, message } = JSON.parse(reason.slice(INVALID_ARGUMENT_MARK.length)) as { argument: string; message: string };
        this.tracker.failed(jobId, { status: 422, detail: fromInvalidArgument(argument, message).detail });
        return;
      } catch {
        // fall through to a plain failure
      }
    }
    this.options.log?.(`job ${jobId} failed on a worker: ${reason}`);
    this.tracker.failed(jobId, { status: 500, detail: 'generation failed on a worker: see the worker log' });
  }
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(an unparsable Redis URL)';
  }
}
