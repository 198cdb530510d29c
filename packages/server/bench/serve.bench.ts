/**
 * `pnpm bench:serve`: 200 txt2img jobs from 20 concurrent clients through `latentkit serve
 * --queue` and 2 `latentkit worker` processes on loopback Redis, on the bundled latentkit-tiny
 * model; one worker is SIGKILLed mid-run. Prints p50/p95 latency, throughput, and the checks.
 * Redis: $LATENTKIT_TEST_REDIS_URL, else a private redis-server on a free loopback port.
 * Environment: BENCH_JOBS, BENCH_CLIENTS, BENCH_STEPS (defaults 200, 20, 20). Needs the CLI built.
 */
import { startTestRedis } from '../src/redis-test-server';
import { runServeLoad } from './serve-load';

async function main(): Promise<void> {
  const jobs = Number(process.env.BENCH_JOBS ?? 200);
  const clients = Number(process.env.BENCH_CLIENTS ?? 20);
  const steps = Number(process.env.BENCH_STEPS ?? 20);
  const redis = await startTestRedis();
  try {
    console.log(`bench:serve: ${jobs} jobs (DDIM ${steps} steps, guidance 5, 64×64), ${clients} clients, 2 worker processes, Redis ${redis.url}`);
    const report = await runServeLoad({ redisUrl: redis.url, jobs, clients, workers: 2, steps, killAfter: Math.floor(jobs / 4), timeoutMs: 900_000, log: (line) => console.log(`  ${line}`) });
    const seconds = report.elapsedMs / 1000;
    console.log(`completed ${report.completed}/${report.jobs}, failed ${report.failed}, wrong ${report.wrong}, duplicated ${report.duplicated}`);
    console.log(`latency p50 ${(report.latencyMs.p50 / 1000).toFixed(2)} s, p95 ${(report.latencyMs.p95 / 1000).toFixed(2)} s, max ${(report.latencyMs.max / 1000).toFixed(2)} s`);
    console.log(`throughput ${report.throughputPerSecond.toFixed(2)} images/s over ${seconds.toFixed(1)} s`);
    console.log(`per worker: ${JSON.stringify(report.perWorker)}`);
    console.log(`killed: ${report.kill ? `${report.kill.worker}; its job(s) ${report.kill.jobs.map((j) => `${j.id} → completed by ${j.completedBy}`).join(', ')}` : 'none'}`);
    console.log(`BullMQ counts: ${JSON.stringify(report.queueCounts)}`);
    const ok =
      report.completed === report.jobs &&
      report.failed === 0 &&
      report.wrong === 0 &&
      report.duplicated === 0 &&
      report.kill !== undefined &&
      report.kill.jobs.every((j) => j.completedBy !== undefined && j.completedBy !== report.kill!.worker);
    console.log(ok ? 'OK: all jobs completed once; the killed worker\'s job completed on the other worker' : 'FAILED: see above');
    process.exitCode = ok ? 0 : 1;
  } finally {
    await redis.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
