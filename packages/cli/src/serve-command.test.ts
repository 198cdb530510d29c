/**
 * `latentkit serve` and `latentkit worker` as processes: serve answers the A1111 API on the port it
 * prints and exits 0 on SIGTERM; worker refuses to start without a queue.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

const bin = path.join(__dirname, 'bin.ts');

function start(argv: string[]): { child: ChildProcess; output: { stdout: string; stderr: string }; exit: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', bin, ...argv], { cwd: path.join(__dirname, '..'), stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  child.stdout!.on('data', (chunk: Buffer) => (output.stdout += chunk));
  child.stderr!.on('data', (chunk: Buffer) => (output.stderr += chunk));
  return { child, output, exit: new Promise((resolve) => child.on('close', (code) => resolve(code))) };
}

describe('latentkit serve / worker', () => {
  it('serve listens on loopback, answers txt2img, and shuts down on SIGTERM with exit 0', async () => {
    const { child, output, exit } = start(['serve', '--port', '0', '--threads', '1']);
    let address: string | undefined;
    for (let i = 0; i < 600 && !address; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      address = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output.stdout)?.[1];
    }
    expect(address).toBeDefined();
    const response = await fetch(`${address}/sdapi/v1/txt2img`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'a red circle on a blue background', steps: 2, seed: 5 }),
    });
    expect(response.status).toBe(200);
    expect(JSON.parse(((await response.json()) as { info: string }).info).all_seeds).toEqual([5]);
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(output.stdout).toContain('SIGTERM, shutting down');
  });

  it('worker without --queue is a usage error (exit 2)', async () => {
    const { output, exit } = start(['worker']);
    expect(await exit).toBe(2);
    expect(output.stderr).toContain('worker needs --queue redis://host:port');
  });
});
