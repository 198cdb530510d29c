/**
 * Where a worker leaves a finished job's images for the server: in Redis under a key that
 * expires (default one hour), or as PNG files in a folder the operator chooses (shared by the
 * workers and the server, e.g. over NFS). The BullMQ job's return value is only a small
 * reference, so that job records in Redis stay small.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Redis } from 'ioredis';
import type { GenerationOutput } from './generation-job';

/** A job's return value: where its output lies. */
export type ResultReference = { readonly kind: 'redis'; readonly key: string } | { readonly kind: 'file'; readonly folder: string };

/** Stores and loads outputs. */
export interface ResultStore {
  save(jobId: string, output: GenerationOutput): Promise<ResultReference>;
}

/** Job ids are BullMQ ids or UUIDs: nothing that could climb out of a folder. */
function safeId(jobId: string): string {
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(jobId)) throw new Error(`job id '${jobId}' is not a plain name`);
  return jobId;
}

/**
 * Outputs in Redis, expiring after `ttlSeconds`.
 *
 * @example
 * ```ts
 * const store = new RedisResultStore(redis, 'latentkit', 3600);
 * ```
 */
export class RedisResultStore implements ResultStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
  ) {}

  async save(jobId: string, output: GenerationOutput): Promise<ResultReference> {
    const key = `${this.prefix}:result:${safeId(jobId)}`;
    await this.redis.set(key, JSON.stringify(output), 'EX', this.ttlSeconds);
    return { kind: 'redis', key };
  }
}

/**
 * Outputs as `<folder>/<job id>/image-<n>.png` beside `output.json`; never deleted by latentkit.
 *
 * @example
 * ```ts
 * const store = new FileResultStore('/srv/latentkit/results');
 * ```
 */
export class FileResultStore implements ResultStore {
  constructor(private readonly folder: string) {}

  async save(jobId: string, output: GenerationOutput): Promise<ResultReference> {
    const folder = path.join(this.folder, safeId(jobId));
    await fs.mkdir(folder, { recursive: true });
    const files = await Promise.all(
      output.images.map(async (image, i) => {
        const file = `image-${i + 1}.png`;
        await fs.writeFile(path.join(folder, file), Buffer.from(image, 'base64'));
        return file;
      }),
    );
    await fs.writeFile(path.join(folder, 'output.json'), JSON.stringify({ ...output, images: files }));
    return { kind: 'file', folder: safeId(jobId) };
  }
}

/**
 * Reads an output back on the server. A file reference resolves only inside `resultsFolder`.
 *
 * @example
 * ```ts
 * const output = await loadResult(job.returnvalue, { redis, resultsFolder: '/srv/latentkit/results' });
 * ```
 */
export async function loadResult(reference: ResultReference, where: { redis: Redis; resultsFolder?: string }): Promise<GenerationOutput> {
  if (reference?.kind === 'redis') {
    const text = await where.redis.get(reference.key);
    if (text === null) throw new Error(`result ${reference.key} has expired or was never written`);
    return JSON.parse(text) as GenerationOutput;
  }
  if (reference?.kind === 'file') {
    if (!where.resultsFolder) throw new Error('a worker wrote its result to files, but this server has no --results-dir to read them from');
    const folder = path.join(where.resultsFolder, safeId(reference.folder));
    const output = JSON.parse(await fs.readFile(path.join(folder, 'output.json'), 'utf8')) as GenerationOutput & { images: string[] };
    const images = await Promise.all(output.images.map(async (file) => (await fs.readFile(path.join(folder, path.basename(file)))).toString('base64')));
    return { ...output, images };
  }
  throw new Error(`unknown result reference ${JSON.stringify(reference)}`);
}
