/**
 * Scale-out against a real Redis and real BullMQ (no mocks): jobs from the server run on
 * workers, progress and previews come back as Server-Sent Events, results come back from Redis
 * or from files, priorities order the queue, cancels reach queued and running jobs, a worker that
 * shuts down hands its job back, and a bad argument found on a worker is still a 422.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { analyseShapeImage } from '@latentkit/testing';
import { createServer, startQueueWorker, type LatentkitServer, type QueueWorker } from './index';
import { redisAvailability, startTestRedis, type TestRedis } from './redis-test-server';
import { RED_CIRCLE, call, pngToRgb, readEvents, type ServerSentEvent } from './test-helpers';

const availability = redisAvailability();
if (!availability.available) console.warn(availability.reason);

const models = [{ name: 'latentkit-tiny' }];
const loadOptions = { sessionOptions: { threads: 1 } };

(availability.available ? describe : describe.skip)('BullMQ queue on Redis', () => {
  let redis: TestRedis;
  let resultsFolder: string;
  beforeAll(async () => {
    redis = await startTestRedis();
    resultsFolder = mkdtempSync(path.join(tmpdir(), 'latentkit-results-'));
  });
  afterAll(async () => {
    await redis?.stop();
    if (resultsFolder) rmSync(resultsFolder, { recursive: true, force: true });
  });

  /** A server and workers on a queue of their own. */
  async function setup(workerCount: number, extra: { files?: boolean } = {}): Promise<{ server: LatentkitServer; base: string; workers: QueueWorker[]; queueName: string; close: () => Promise<void> }> {
    const queueName = `test-${randomUUID()}`;
    const folder = extra.files ? resultsFolder : undefined;
    const server = await createServer({ queue: { url: redis.url, queueName, resultsFolder: folder } });
    const base = await server.listen({ port: 0 });
    const workers: QueueWorker[] = [];
    for (let i = 0; i < workerCount; i++) workers.push(await startQueueWorker({ url: redis.url, queueName, models, loadOptions, resultsFolder: folder, name: `w${i}` }));
    return { server, base, workers, queueName, close: async () => void (await Promise.all([...workers.map((w) => w.close(1000)), server.close()])) };
  }

  it('runs txt2img on a worker and streams progress, previews and the result over SSE', async () => {
    const { base, close } = await setup(1);
    try {
      const sync = (await call(base, '/sdapi/v1/txt2img', { payload: RED_CIRCLE })).json();
      expect(analyseShapeImage(await pngToRgb(sync.images[0]))).toMatchObject({ foreground: 'red', shape: 'circle', background: 'blue' });
      expect(JSON.parse(sync.info)).toMatchObject({ all_seeds: [11], worker: 'w0' });

      const job = (await call(base, '/latentkit/v1/jobs', { payload: { ...RED_CIRCLE, preview_every: 5 } })).json();
      const events = await readEvents(new URL(job.events, base).toString());
      const kinds = events.map((e) => e.event);
      expect(kinds[0]).toBe('state');
      expect(kinds[kinds.length - 1]).toBe('result');
      const progress = events.filter((e) => e.event === 'progress').map((e) => e.data);
      expect(progress.length).toBeGreaterThan(2);
      expect(progress.some((p) => typeof p.preview === 'string')).toBe(true);
      const result = events[events.length - 1]!.data as { images: string[]; state: string };
      expect(result.state).toBe('completed');
      expect(result.images[0]).toBe(sync.images[0]);
    } finally {
      await close();
    }
  });

  it('reads results from a shared folder when the workers write files', async () => {
    const { base, close } = await setup(1, { files: true });
    try {
      const body = (await call(base, '/sdapi/v1/txt2img', { payload: { ...RED_CIRCLE, steps: 4 } })).json();
      expect(body.images).toHaveLength(1);
      expect((await pngToRgb(body.images[0])).width).toBe(64);
    } finally {
      await close();
    }
  });

  it('runs higher priorities first, cancels queued and running jobs, and relays workers\' 422s', async () => {
    const { base, close, queueName } = await setup(0);
    let worker: QueueWorker | undefined;
    try {
      const submit = async (payload: Record<string, unknown>): Promise<string> => (await call(base, '/latentkit/v1/jobs', { payload: { ...RED_CIRCLE, steps: 3, ...payload } })).json().id;
      const low = await submit({ priority: 0 });
      const cancelledWhileQueued = await submit({ priority: 0 });
      const high = await submit({ priority: 900 });
      const bad = await submit({ priority: 1, width: 128 });
      expect((await call(base, `/latentkit/v1/jobs/${cancelledWhileQueued}`, { method: 'DELETE' })).json()).toEqual({ id: cancelledWhileQueued, cancelled: true });
      worker = await startQueueWorker({ url: redis.url, queueName, models, loadOptions, name: 'late' });
      const finish = async (id: string): Promise<ServerSentEvent> => (await readEvents(`${base}/latentkit/v1/jobs/${id}/events`)).pop()!;
      const [lowEnd, highEnd, badEnd, queuedEnd] = await Promise.all([finish(low), finish(high), finish(bad), finish(cancelledWhileQueued)]);
      expect(queuedEnd.data.state).toBe('cancelled');
      expect(highEnd.data.started_at as number).toBeLessThan(lowEnd.data.started_at as number);
      expect(badEnd.event).toBe('error');
      expect(badEnd.data).toMatchObject({ status: 422, detail: [{ loc: ['body', 'width'], msg: expect.stringMatching(/width must be 64/) }] });
      const sync = await call(base, '/sdapi/v1/txt2img', { payload: { ...RED_CIRCLE, width: 128, steps: 2 } });
      expect(sync.statusCode).toBe(422);

      const long = await submit({ steps: 150, batch_size: 4, preview_every: 0 });
      let cancelled = false;
      const events = await readEvents(`${base}/latentkit/v1/jobs/${long}/events`, {}, (event) => {
        if (event.event === 'progress' && !cancelled) {
          cancelled = true;
          void call(base, `/latentkit/v1/jobs/${long}`, { method: 'DELETE' });
        }
      });
      const end = events.pop()!;
      expect(end.event).toBe('result');
      expect(end.data.state).toBe('cancelled');
      expect((end.data.images as string[]).length).toBeLessThan(4);
    } finally {
      await worker?.close(1000);
      await close();
    }
  });

  it('a worker that shuts down mid-job hands it back, and another worker finishes it', async () => {
    const { base, close, queueName, workers } = await setup(1);
    let second: QueueWorker | undefined;
    try {
      const id = (await call(base, '/latentkit/v1/jobs', { payload: { ...RED_CIRCLE, steps: 30, batch_size: 2, preview_every: 0 } })).json().id;
      let closing: Promise<void> | undefined;
      const done = readEvents(`${base}/latentkit/v1/jobs/${id}/events`, {}, (event) => {
        if (event.event === 'progress' && !closing) closing = workers[0]!.close(0);
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      await closing;
      second = await startQueueWorker({ url: redis.url, queueName, models, loadOptions, name: 'second' });
      const end = (await done).pop()!;
      expect(end.data.state).toBe('completed');
      expect(JSON.parse(end.data.info as string)).toMatchObject({ worker: 'second', all_seeds: [11, 12] });
    } finally {
      await second?.close(1000);
      await close();
    }
  });
});
