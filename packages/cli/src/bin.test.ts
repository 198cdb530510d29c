/**
 * The real executable in a child process: exit codes reach the shell, stdout and stderr are
 * separate, and SIGINT (Ctrl-C) stops a run with 130. Runs the TypeScript entry through tsx.
 */
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describeWithReference } from '@latentkit/testing';

const bin = path.join(__dirname, 'bin.ts');

function latentkit(argv: string[], onStderr?: (text: string, child: ReturnType<typeof spawn>) => void) {
  return new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', bin, ...argv], { cwd: path.join(__dirname, '..'), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
      onStderr?.(stderr, child);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

describe('the latentkit executable', () => {
  it('loads no onnxruntime for --help and inspect (they start at once), only for a generation command', async () => {
    const modelTiny = path.join(__dirname, '../../model-tiny/model');
    const loaded = (argv: string[]) =>
      new Promise<string>((resolve, reject) => {
        const script =
          `const io = { stdout: { write() {} }, stderr: { write() {} } };` +
          `require(${JSON.stringify(path.join(__dirname, 'run.ts'))}).run(${JSON.stringify(argv)}, io).then(() => ` +
          `process.stdout.write(String(Object.keys(require.cache).filter((file) => file.includes('onnxruntime-node')).length)))`;
        const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { cwd: path.join(__dirname, '..'), stdio: ['ignore', 'pipe', 'inherit'] });
        let stdout = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
        child.on('error', reject);
        child.on('close', () => resolve(stdout));
      });
    expect(await loaded(['--help'])).toBe('0');
    expect(await loaded(['inspect', modelTiny])).toBe('0');
    const out = path.join(tmpdir(), `latentkit-bin-${process.pid}.png`);
    expect(Number(await loaded(['generate', 'a red circle', '--model', modelTiny, '--steps', '1', '--out', out, '--quiet']))).toBeGreaterThan(0);
    expect(existsSync(out)).toBe(true);
    rmSync(out, { force: true });
  });

  it('exits 0 for --version and 2 for an unknown option, with the message on stderr', async () => {
    const version = await latentkit(['--version']);
    expect([version.code, version.stdout.trim()]).toEqual([0, expect.stringMatching(/^\d+\.\d+\.\d+$/)]);
    const usage = await latentkit(['generate', 'a red circle', '--stpes', '3']);
    expect(usage.code).toBe(2);
    expect(usage.stdout).toBe('');
    expect(usage.stderr).toContain("unknown option '--stpes' for 'latentkit generate': did you mean --steps?");
  });
});

describeWithReference('the latentkit executable on tiny-sd', ['tiny-sd', 'onnx'], (tinySd) => {
  it('exits 130 on SIGINT during denoising, without writing the image', async () => {
    const out = path.join(tmpdir(), `latentkit-sigint-${process.pid}.png`);
    let sent = false;
    const result = await latentkit(['generate', 'a red circle', '--model', tinySd, '--steps', '200', '--out', out], (stderr, child) => {
      if (!sent && /step \d+\//.test(stderr)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    expect(sent).toBe(true);
    expect(result.code).toBe(130);
    expect(result.stderr).toMatch(/latentkit: interrupted\n$/);
    expect(result.stdout).toBe('');
    expect(existsSync(out)).toBe(false);
  });
});
