/**
 * Runs jobs in the server's process, `concurrency` at a time (default 1: a diffusion model keeps
 * every core busy), highest priority first, then in order of arrival.
 */
import { randomUUID } from 'node:crypto';
import { failureOf, type GenerationBackend, type SubmitOptions } from './generation-backend';
import type { GenerationJob } from './generation-job';
import type { GenerationRunner } from './generation-runner';
import type { JobTracker } from './job-tracker';

interface Pending {
  readonly id: string;
  readonly job: GenerationJob;
  readonly priority: number;
  readonly order: number;
}

/** Options of {@link LocalBackend}. */
export interface LocalBackendOptions {
  readonly concurrency?: number;
  /** Receives errors that are not the client's fault. */
  readonly log?: (message: string, error: unknown) => void;
}

/**
 * The in-process backend of `latentkit serve` without `--queue`.
 *
 * @example
 * ```ts
 * const backend = new LocalBackend(new GenerationRunner({ models }), tracker);
 * const id = await backend.submit(job);
 * ```
 */
export class LocalBackend implements GenerationBackend {
  readonly mode = 'local';
  private readonly pending: Pending[] = [];
  private readonly active = new Map<string, AbortController>();
  private order = 0;
  private closed = false;
  private readonly concurrency: number;

  constructor(
    private readonly runner: GenerationRunner,
    private readonly tracker: JobTracker,
    private readonly options: LocalBackendOptions = {},
  ) {
    this.concurrency = Math.max(1, options.concurrency ?? 1);
  }

  async submit(job: GenerationJob, options: SubmitOptions = {}): Promise<string> {
    if (this.closed) throw new Error('the server is shutting down');
    const id = randomUUID();
    this.tracker.create(id, job);
    const entry: Pending = { id, job, priority: options.priority ?? 0, order: this.order++ };
    const at = this.pending.findIndex((p) => p.priority < entry.priority);
    this.pending.splice(at === -1 ? this.pending.length : at, 0, entry);
    this.pump();
    return id;
  }

  async cancel(id: string): Promise<boolean> {
    const index = this.pending.findIndex((p) => p.id === id);
    if (index >= 0) {
      this.pending.splice(index, 1);
      this.tracker.cancelled(id);
      return true;
    }
    const controller = this.active.get(id);
    if (!controller) return false;
    controller.abort();
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const { id } of this.pending.splice(0)) this.tracker.cancelled(id);
    const running = [...this.active.keys()].map((id) => this.tracker.finished(id));
    for (const controller of this.active.values()) controller.abort();
    await Promise.all(running);
  }

  private pump(): void {
    while (this.active.size < this.concurrency && this.pending.length > 0) {
      const next = this.pending.shift()!;
      const controller = new AbortController();
      this.active.set(next.id, controller);
      void this.execute(next, controller);
    }
  }

  private async execute({ id, job }: Pending, controller: AbortController): Promise<void> {
    this.tracker.started(id);
    try {
      const output = await this.runner.run(job, { signal: controller.signal, onProgress: (progress) => this.tracker.progress(id, progress) });
      this.tracker.completed(id, output);
    } catch (error) {
      const failure = failureOf(error);
      if (failure.status !== 422) this.options.log?.(`job ${id} failed`, error);
      this.tracker.failed(id, failure);
    } finally {
      this.active.delete(id);
      this.pump();
    }
  }
}
