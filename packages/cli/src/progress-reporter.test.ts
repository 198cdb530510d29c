import { createProgressReporter } from './progress-reporter';

describe('createProgressReporter', () => {
  it('writes plain lines "step k/n t=… r it/s" when the stream is not a terminal', () => {
    let written = '';
    const progress = createProgressReporter({ write: (s: string) => (written += s), isTTY: false });
    progress.update(0, 3, 981);
    progress.update(1, 3, 641.5);
    progress.update(2, 3, 1);
    progress.stop();
    const lines = written.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^step 1\/3 t=981 \d+(\.\d)? it\/s$/);
    expect(lines[1]).toMatch(/^step 2\/3 t=641\.5 \d+(\.\d)? it\/s$/);
    expect(lines[2]).toMatch(/^step 3\/3 t=1 \d+(\.\d)? it\/s$/);
  });

  it('draws a cli-progress bar on a terminal', () => {
    let written = '';
    const stream = { write: (s: string) => ((written += s), true), isTTY: true, columns: 80, cursorTo: () => true, clearLine: () => true, moveCursor: () => true, on: () => stream, removeListener: () => stream };
    const progress = createProgressReporter(stream);
    progress.update(0, 2, 981);
    progress.update(1, 2, 1);
    progress.stop();
    expect(written).toMatch(/2\/2 \| t=1 \| \d+(\.\d)? it\/s/);
  });

  it('prints nothing when quiet', () => {
    let written = '';
    const progress = createProgressReporter({ write: (s: string) => (written += s) }, { quiet: true });
    progress.update(0, 1, 1);
    progress.stop();
    expect(written).toBe('');
  });
});
