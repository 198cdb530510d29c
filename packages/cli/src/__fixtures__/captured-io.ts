/** A CliIo that captures what a command writes. */
import type { CliIo } from '../cli-io';

export function capturedIo(options: { isTTY?: boolean; signal?: AbortSignal } = {}): CliIo & { out(): string; err(): string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (chunk: string) => (out += chunk), isTTY: options.isTTY },
    stderr: { write: (chunk: string) => (err += chunk), isTTY: options.isTTY },
    signal: options.signal,
    out: () => out,
    err: () => err,
  };
}
