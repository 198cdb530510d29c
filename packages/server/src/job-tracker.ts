/**
 * What the HTTP layer knows about the jobs it submitted: state, last progress and preview,
 * result or error, and listeners (Server-Sent Events streams, waiting requests). Backends (in
 * process or BullMQ) report into it; finished jobs are kept for `retainMs` so that a client can
 * fetch a result after its stream dropped, then forgotten.
 */
import type { GenerationJob, GenerationOutput, JobProgress } from './generation-job';
import type { FieldError } from './request-errors';

/** A job's life: queued → running → completed | failed | cancelled. */
export type JobState = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

/** Why a job failed, as a client may see it (never a stack trace). */
export type JobFailure = { readonly status: 422; readonly detail: FieldError[] } | { readonly status: 500 | 503; readonly detail: string };

/** One job as the server tracks it. */
export interface JobRecord {
  readonly id: string;
  readonly job: GenerationJob;
  state: JobState;
  readonly createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  progress?: JobProgress;
  /** The latest preview (base64 PNG). */
  preview?: string;
  output?: GenerationOutput;
  failure?: JobFailure;
}

/** What a listener hears. */
export type JobEvent =
  | { readonly type: 'state'; readonly record: JobRecord }
  | { readonly type: 'progress'; readonly record: JobRecord; readonly progress: JobProgress };

const FINAL: ReadonlySet<JobState> = new Set(['completed', 'failed', 'cancelled']);

/** True for completed, failed and cancelled. */
export function isFinal(state: JobState): boolean {
  return FINAL.has(state);
}

/**
 * The server's jobs by id.
 *
 * @example
 * ```ts
 * const tracker = new JobTracker();
 * tracker.create('1', job);
 * const done = await tracker.finished('1');
 * ```
 */
export class JobTracker {
  private readonly records = new Map<string, JobRecord>();
  private readonly listeners = new Map<string, Set<(event: JobEvent) => void>>();
  private readonly waiters = new Map<string, ((record: JobRecord) => void)[]>();
  /** Ids in the order they started running, latest last (for A1111's single-job /progress). */
  private running: string[] = [];

  /** Finished ids, oldest first, to forget the oldest beyond `maxRetained`. */
  private readonly finishedOrder: string[] = [];

  /**
   * @param retainMs - how long finished jobs stay (default 10 minutes)
   * @param maxRetained - at most this many finished jobs stay, the oldest forgotten first (default 1000)
   */
  constructor(
    private readonly retainMs = 10 * 60_000,
    private readonly maxRetained = 1000,
  ) {}

  get(id: string): JobRecord | undefined {
    return this.records.get(id);
  }

  /** The job A1111's /progress describes: the latest one running, else the oldest queued. */
  current(): JobRecord | undefined {
    for (let i = this.running.length - 1; i >= 0; i--) {
      const record = this.records.get(this.running[i]!);
      if (record?.state === 'running') return record;
    }
    for (const record of this.records.values()) if (record.state === 'queued') return record;
    return undefined;
  }

  /** How many jobs are queued or running. */
  pendingCount(): number {
    let count = 0;
    for (const record of this.records.values()) if (!isFinal(record.state)) count++;
    return count;
  }

  create(id: string, job: GenerationJob): JobRecord {
    const record: JobRecord = { id, job, state: 'queued', createdAt: Date.now() };
    this.records.set(id, record);
    return record;
  }

  started(id: string): void {
    const record = this.records.get(id);
    if (!record || isFinal(record.state)) return;
    if (record.state !== 'running') {
      record.state = 'running';
      record.startedAt = Date.now();
      this.running = [...this.running.filter((r) => this.records.get(r)?.state === 'running'), id];
      this.emit(id, { type: 'state', record });
    }
  }

  progress(id: string, progress: JobProgress): void {
    const record = this.records.get(id);
    if (!record || isFinal(record.state)) return;
    if (record.state === 'queued') this.started(id);
    record.progress = progress;
    if (progress.preview) record.preview = progress.preview;
    this.emit(id, { type: 'progress', record, progress });
  }

  completed(id: string, output: GenerationOutput): void {
    this.finish(id, output.interrupted ? 'cancelled' : 'completed', (record) => (record.output = output));
  }

  failed(id: string, failure: JobFailure): void {
    this.finish(id, 'failed', (record) => (record.failure = failure));
  }

  /** A job removed before it ran. */
  cancelled(id: string): void {
    this.finish(id, 'cancelled', (record) => (record.output ??= { images: [], seeds: [], width: record.job.width ?? 0, height: record.job.height ?? 0, interrupted: true, elapsedMs: 0 }));
  }

  /** Calls `listener` on every event of job `id` until the returned function is called. */
  subscribe(id: string, listener: (event: JobEvent) => void): () => void {
    let set = this.listeners.get(id);
    if (!set) this.listeners.set(id, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(id);
    };
  }

  /** Resolves when job `id` is final. */
  finished(id: string): Promise<JobRecord> {
    const record = this.records.get(id);
    if (!record) return Promise.reject(new Error(`unknown job ${id}`));
    if (isFinal(record.state)) return Promise.resolve(record);
    return new Promise((resolve) => {
      const list = this.waiters.get(id) ?? [];
      list.push(resolve);
      this.waiters.set(id, list);
    });
  }

  /** Fails every job not yet final (the backend went away). */
  failAll(detail: string): void {
    for (const record of this.records.values()) if (!isFinal(record.state)) this.failed(record.id, { status: 503, detail });
  }

  private finish(id: string, state: JobState, set: (record: JobRecord) => void): void {
    const record = this.records.get(id);
    if (!record || isFinal(record.state)) return;
    record.state = state;
    record.finishedAt = Date.now();
    set(record);
    this.emit(id, { type: 'state', record });
    for (const resolve of this.waiters.get(id) ?? []) resolve(record);
    this.waiters.delete(id);
    this.running = this.running.filter((r) => r !== id);
    const timer = setTimeout(() => this.records.delete(id), this.retainMs);
    timer.unref();
    this.finishedOrder.push(id);
    while (this.finishedOrder.length > this.maxRetained) this.records.delete(this.finishedOrder.shift()!);
  }

  private emit(id: string, event: JobEvent): void {
    for (const listener of [...(this.listeners.get(id) ?? [])]) listener(event);
  }
}
