#!/usr/bin/env node
/**
 * The `latentkit` executable: wires the process to {@link run}. The first Ctrl-C aborts the run
 * (between UNet calls, or before the images are written: exit 130, nothing written); a second one
 * exits at once. A reader that closes stdout early (`latentkit … | head -1`) ends the output quietly.
 */
import { run } from './run';

// Node prints warnings as "(node:123) LatentkitConfigWarning: … (Use `node --trace-warnings …`)";
// a shell user gets one plain line instead.
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  process.stderr.write(`latentkit: warning: ${warning.message}\n`);
});

// EPIPE: the reader is gone; what it did not read is not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
}

const controller = new AbortController();
process.on('SIGINT', () => {
  if (controller.signal.aborted) process.exit(130);
  controller.abort();
});

run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, signal: controller.signal }).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`latentkit: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
