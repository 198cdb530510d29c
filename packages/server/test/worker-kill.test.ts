/**
 * The CI-sized version of `pnpm bench:serve`: 12 jobs from 4 clients through 2 real `latentkit
 * worker` processes on a real Redis; one worker is SIGKILLed while it holds a job. Every job
 * completes exactly once, and the killed worker's job completes on the other worker (BullMQ's
 * stalled-job check). Needs the CLI built (CI builds before testing).
 */
import { runServeLoad } from '../bench/serve-load';
import { redisAvailability, startTestRedis, type TestRedis } from '../src/redis-test-server';

const availability = redisAvailability();
if (!availability.available) console.warn(availability.reason);

(availability.available ? describe : describe.skip)('a worker killed mid-job (2 worker processes, real Redis)', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startTestRedis();
  });
  afterAll(() => redis?.stop());

  it('loses and duplicates nothing, and the killed worker\'s job completes on the other', async () => {
    const report = await runServeLoad({ redisUrl: redis.url, jobs: 12, clients: 4, workers: 2, steps: 8, killAfter: 3, lockDurationMs: 3000, timeoutMs: 150_000 });
    expect(report).toMatchObject({ completed: 12, failed: 0, wrong: 0, duplicated: 0 });
    expect(report.queueCounts).toMatchObject({ completed: 12, failed: 0, active: 0 });
    expect(report.kill).toBeDefined();
    expect(report.kill!.jobs.length).toBeGreaterThan(0);
    for (const job of report.kill!.jobs) {
      expect(job.completedBy).toBeDefined();
      expect(job.completedBy).not.toBe(report.kill!.worker);
    }
  });
});
