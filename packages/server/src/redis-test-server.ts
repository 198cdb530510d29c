/**
 * Redis for the tests, real and on loopback: `LATENTKIT_TEST_REDIS_URL` when set (CI's `.ci/run`
 * starts Debian's redis-server and exports it), else a private `redis-server` started on a free
 * loopback port when one is installed. Without either, Redis tests skip with a message — except
 * under `CI=true`, where they must run and fail instead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

/** A Redis the tests may use. */
export interface TestRedis {
  readonly url: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Whether Redis tests can run here, and why not. */
export function redisAvailability(): { available: boolean; reason: string } {
  if (process.env.LATENTKIT_TEST_REDIS_URL) return { available: true, reason: '' };
  const found = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (found.status === 0) return { available: true, reason: '' };
  if (process.env.CI === 'true') throw new Error('CI=true but neither LATENTKIT_TEST_REDIS_URL nor redis-server is available: .ci/run must install and start redis-server');
  return { available: false, reason: 'Skipping Redis/BullMQ tests: set LATENTKIT_TEST_REDIS_URL=redis://127.0.0.1:<port> or install redis-server (apt-get install -y redis-server)' };
}

/** Connects to the configured Redis or starts a private one. */
export async function startTestRedis(): Promise<TestRedis> {
  const given = process.env.LATENTKIT_TEST_REDIS_URL;
  if (given) return { url: given, stop: async () => undefined };
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'latentkit-redis-'));
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('redis-server did not start within 10 s')), 10_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      if (/Ready to accept connections/.test(chunk.toString())) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}`)));
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
