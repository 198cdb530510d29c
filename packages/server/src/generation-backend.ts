/**
 * Where jobs run: in the server's own process ({@link LocalBackend}) or on `latentkit worker`s
 * through BullMQ ({@link QueueBackend}). Both report into the server's {@link JobTracker}.
 */
import { InvalidArgumentError } from '@latentkit/core';
import type { GenerationJob } from './generation-job';
import type { JobFailure } from './job-tracker';
import { fromPipelineError } from './request-errors';

/** Options of a submitted job. */
export interface SubmitOptions {
  /** 0–1000; higher runs first (default 0). Jobs of equal priority run in order. */
  readonly priority?: number;
}

/** What the HTTP layer needs from a backend. */
export interface GenerationBackend {
  /** `'local'` or `'queue'`. */
  readonly mode: 'local' | 'queue';
  /** Registers the job in the tracker under a new id and queues it; resolves with the id. */
  submit(job: GenerationJob, options?: SubmitOptions): Promise<string>;
  /** Cancels a queued or running job; false when it was not found or already finished. */
  cancel(id: string): Promise<boolean>;
  /** Stops accepting jobs and releases connections (running local jobs are cancelled). */
  close(): Promise<void>;
}

/**
 * How a failed run reaches the client: a bad argument → 422 naming the field, anything else → 500
 * with a fixed message (the cause goes to the log only).
 */
export function failureOf(error: unknown): JobFailure {
  if (InvalidArgumentError.isInstance(error)) return { status: 422, detail: fromPipelineError(error).detail };
  return { status: 500, detail: 'generation failed: see the server log' };
}
