/** Where a command writes, and what stops it: injected so commands are testable functions. */
import type { ProgressStream } from './progress-reporter';

/** A writable text stream (process.stdout / process.stderr, or a buffer in tests). */
export interface OutputStream extends ProgressStream {
  write(chunk: string): unknown;
}

/** The environment a command runs in. */
export interface CliIo {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  /** Fires on Ctrl-C; commands pass it to the pipeline. */
  readonly signal?: AbortSignal;
}
