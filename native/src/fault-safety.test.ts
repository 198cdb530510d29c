import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { addonLoadResult } from './load-addon';

// Faults that used to kill the whole process (issue 17): a worker thread terminated, or calling
// process.exit, while an asynchronous call ran (SIGABRT), and an ArrayBuffer transferred while
// a call used it (SIGSEGV). Each scenario of src/__fixtures__/fault-child.js runs in its own
// node process, so a crash fails one test instead of killing jest; it must exit 0, by itself
// (no signal), with `ok …` as its last line.
const { addon, path: addonPath, reason } = addonLoadResult();
if (addon === undefined) {
  console.warn(`fault-safety.test: skipped, the native addon is not built (${reason})`);
}
const describeNative = addon !== undefined && addonPath !== undefined ? describe : describe.skip;
const child = path.join(__dirname, '__fixtures__', 'fault-child.js');

function runScenario(scenario: string): { status: number | null; signal: NodeJS.Signals | null; last: string; output: string } {
  const result = spawnSync(process.execPath, ['--expose-gc', child, addonPath!, scenario], {
    encoding: 'utf8',
    timeout: 90_000,
    env: { ...process.env, LATENTKIT_THREADS: '2' },
  });
  const output = `${result.stdout}${result.stderr}`;
  const lines = result.stdout.trim().split('\n');
  return { status: result.status, signal: result.signal, last: lines[lines.length - 1] ?? '', output };
}

describeNative('no native crash from JavaScript (each scenario in a child process)', () => {
  test.each<[string, RegExp]>([
    // Environment teardown while multiHeadAttentionAsync runs.
    ['worker-terminate', /^ok terminated with code 1$/],
    ['many-workers-terminate', /^ok terminated 8 workers$/],
    ['random-terminate', /^ok 6 rounds$/],
    ['worker-process-exit', /^ok workers exited with 7,7,7,7$/],
    ['worker-only-reload', /^ok reloaded and settled/],
    ['main-exit-pending', /^ok exiting with calls in flight$/],
    // Buffers detached, resized or changed while a call uses them.
    ['detach-output', /^ok 20 rejected: multiHeadAttentionAsync: the output array \(options\.out\)'s ArrayBuffer was detached \(transferred\)/],
    ['resize-output', /^ok rejected: .*detached \(transferred\) or resized/],
    ['detach-inputs', /^ok 26 calls unaffected$/],
    ['mutate-inputs', /^ok result unaffected, resolved with out$/],
    ['shared-buffers', /^ok shared buffers in place, same result$/],
    ['gc-pressure', /^ok 64 calls correct, none pending$/],
  ])('%s', (scenario, expected) => {
    const { status, signal, last, output } = runScenario(scenario);
    if (status !== 0 || signal !== null) {
      throw new Error(`${scenario}: exit status ${status}, signal ${signal}\n${output.slice(-3000)}`);
    }
    expect(last).toMatch(expected);
  });
});
