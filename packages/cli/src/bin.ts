#!/usr/bin/env node
/**
 * The `latentkit` executable: wires the process to {@link run}. The first Ctrl-C aborts the run
 * between steps (exit 130); a second one exits at once.
 */
import { run } from './run';

// Node prints warnings as "(node:123) LatentkitConfigWarning: … (Use `node --trace-warnings …`)";
// a shell user gets one plain line instead.
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  process.stderr.write(`latentkit: warning: ${warning.message}\n`);
});

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
