/**
 * latentkit's own endpoints: queue a job and follow it with Server-Sent Events (state, step
 * progress with previews, the result), fetch or cancel it, and describe the server.
 *
 * - `POST /latentkit/v1/jobs` (an A1111 body plus `task`, `model`, `priority`, `preview_every`) → 202 `{ id }`
 * - `GET /latentkit/v1/jobs/:id/events` → `text/event-stream`: `state`, `progress`, then `result` or `error`
 * - `GET /latentkit/v1/jobs/:id` → the job's state, progress, and result once there
 * - `DELETE /latentkit/v1/jobs/:id` → cancels it
 * - `GET /latentkit/v1/info` → mode, models, samplers, limits
 */
import type { FastifyInstance } from 'fastify';
import { generationBodySchema, jobFromBody, type GenerationBody } from './a1111-request';
import { a1111Samplers, generationResponse, type RouteContext } from './a1111-routes';
import type { JobProgress } from './generation-job';
import { isFinal, type JobRecord } from './job-tracker';
import { HttpError, RequestValidationError } from './request-errors';

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,128}$' } } };

function summary(record: JobRecord): Record<string, unknown> {
  return { id: record.id, state: record.state, created_at: record.createdAt, started_at: record.startedAt ?? null, finished_at: record.finishedAt ?? null };
}

function progressEvent(progress: JobProgress): Record<string, unknown> {
  return { step: progress.step, total_steps: progress.totalSteps, fraction: progress.step / progress.totalSteps, image: progress.image, images: progress.images, preview: progress.preview ?? null };
}

/** The final SSE event of a record: `result` (completed or cancelled) or `error`. */
function finalEvent(record: JobRecord): [string, unknown] {
  try {
    return ['result', { ...summary(record), ...generationResponse(record, true) }];
  } catch (error) {
    if (error instanceof RequestValidationError) return ['error', { ...summary(record), status: 422, detail: error.detail }];
    if (error instanceof HttpError) return ['error', { ...summary(record), status: error.statusCode, detail: error.detail }];
    return ['error', { ...summary(record), status: 500, detail: 'Internal Server Error' }];
  }
}

/** Registers the `/latentkit/v1` routes. */
export function registerNativeRoutes(app: FastifyInstance, context: RouteContext & { version: string }): void {
  const { backend, tracker } = context;
  const limits = context.jobContext().limits;

  const known = (id: string): JobRecord => {
    const record = tracker.get(id);
    if (!record) throw new HttpError(404, `no job '${id}' on this server (finished jobs are kept for 10 minutes)`);
    return record;
  };

  app.post<{ Body: GenerationBody }>('/latentkit/v1/jobs', { schema: { body: generationBodySchema('job', limits) } }, async (request, reply) => {
    const job = jobFromBody(request.body, 'job', context.jobContext());
    const id = await backend.submit(job, { priority: request.body.priority });
    reply.code(202);
    return { id, state: tracker.get(id)?.state ?? 'queued', events: `/latentkit/v1/jobs/${id}/events` };
  });

  app.get<{ Params: { id: string } }>('/latentkit/v1/jobs/:id', { schema: { params: idParams } }, async (request) => {
    const record = known(request.params.id);
    const base = { ...summary(record), progress: record.progress ? progressEvent({ ...record.progress, preview: undefined }) : null };
    if (!isFinal(record.state)) return base;
    const [kind, body] = finalEvent(record);
    return { ...base, ...(kind === 'result' ? (body as object) : { error: body }) };
  });

  app.delete<{ Params: { id: string } }>('/latentkit/v1/jobs/:id', { schema: { params: idParams } }, async (request) => {
    known(request.params.id);
    return { id: request.params.id, cancelled: await backend.cancel(request.params.id) };
  });

  app.get<{ Params: { id: string } }>('/latentkit/v1/jobs/:id/events', { schema: { params: idParams } }, (request, reply) => {
    const record = known(request.params.id);
    reply.hijack();
    const response = reply.raw;
    response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    const send = (event: string, data: unknown): void => {
      response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    let unsubscribe = (): void => undefined;
    const heartbeat = setInterval(() => response.write(': keep-alive\n\n'), 15_000);
    const end = (): void => {
      clearInterval(heartbeat);
      unsubscribe();
      response.end();
    };
    send('state', summary(record));
    if (record.progress) send('progress', progressEvent({ ...record.progress, preview: record.preview }));
    if (isFinal(record.state)) {
      send(...finalEvent(record));
      end();
      return;
    }
    unsubscribe = tracker.subscribe(record.id, (event) => {
      if (event.type === 'progress') send('progress', progressEvent(event.progress));
      else if (isFinal(event.record.state)) {
        send(...finalEvent(event.record));
        end();
      } else send('state', summary(event.record));
    });
    // The response's 'close' fires when the client goes away (the request's may fire earlier).
    response.once('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
    });
  });

  app.get('/latentkit/v1/info', async () => {
    const jobs = context.jobContext();
    return {
      name: 'latentkit',
      version: context.version,
      mode: backend.mode,
      models: jobs.models.map((model) => model.name),
      current_model: jobs.currentModel,
      samplers: a1111Samplers().map((sampler) => sampler.name),
      limits: {
        max_body_bytes: jobs.limits.maxBodyBytes,
        max_prompt_length: jobs.limits.maxPromptLength,
        max_steps: jobs.limits.maxSteps,
        max_pixels: jobs.limits.maxPixels,
        max_images: jobs.limits.maxImages,
      },
    };
  });
}
