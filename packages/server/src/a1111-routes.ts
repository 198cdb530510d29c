/**
 * AUTOMATIC1111's `/sdapi/v1/*` endpoints, with its field names, so that existing clients work
 * unchanged: txt2img, img2img, progress, interrupt, samplers, schedulers, sd-models, options.
 */
import type { FastifyInstance } from 'fastify';
import { SCHEDULER_ALIASES } from '@latentkit/schedulers';
import { generationBodySchema, jobFromBody, type GenerationBody, type JobContext } from './a1111-request';
import type { GenerationBackend } from './generation-backend';
import { infoString } from './generation-job';
import type { JobRecord, JobTracker } from './job-tracker';
import { HttpError, RequestValidationError } from './request-errors';

/** What the routes share with the rest of the server. */
export interface RouteContext {
  readonly backend: GenerationBackend;
  readonly tracker: JobTracker;
  /** The request checks, with the model `/options` selected. */
  jobContext(): JobContext;
  setCurrentModel(name: string): void;
}

/**
 * A1111's sampler names latentkit runs (the capitalised entries of the schedulers' alias table),
 * with the lower-case k-diffusion names of the same scheduler as aliases.
 *
 * @example
 * ```ts
 * a1111Samplers()[0]; // { name: 'DPM++ 2M', aliases: ['dpmpp_2m'], options: {} }
 * ```
 */
export function a1111Samplers(): { name: string; aliases: string[]; options: Record<string, string> }[] {
  const entries = Object.entries(SCHEDULER_ALIASES);
  const same = (a: (typeof entries)[number][1], b: (typeof entries)[number][1]): boolean =>
    a.className === b.className && JSON.stringify(a.options) === JSON.stringify(b.options);
  return entries
    .filter(([name]) => /^[A-Z]/.test(name))
    .map(([name, alias]) => ({
      name,
      aliases: entries.filter(([other, value]) => /^[a-z]/.test(other) && same(value, alias)).map(([other]) => other),
      options: {},
    }));
}

/** A finished record → A1111's response, or the error it failed with. */
export function generationResponse(record: JobRecord, sendImages: boolean): { images: string[]; parameters: Record<string, unknown>; info: string } {
  if (record.state === 'failed') {
    const failure = record.failure!;
    if (failure.status === 422) throw new RequestValidationError(failure.detail);
    throw new HttpError(failure.status, failure.detail);
  }
  const output = record.output!;
  return { images: sendImages ? output.images : [], parameters: { ...record.job.parameters }, info: infoString(record.job, output) };
}

/** Registers the `/sdapi/v1` routes. */
export function registerA1111Routes(app: FastifyInstance, context: RouteContext): void {
  const { backend, tracker } = context;
  const limits = context.jobContext().limits;

  for (const endpoint of ['txt2img', 'img2img'] as const) {
    app.post<{ Body: GenerationBody }>(`/sdapi/v1/${endpoint}`, { schema: { body: generationBodySchema(endpoint, limits) } }, async (request, reply) => {
      const job = jobFromBody(request.body, endpoint, context.jobContext());
      const id = await backend.submit(job);
      // A client that hangs up no longer wants the images: stop the work.
      const onClose = (): void => {
        if (!reply.raw.writableFinished) void backend.cancel(id).catch(() => undefined);
      };
      reply.raw.once('close', onClose);
      const record = await tracker.finished(id);
      return generationResponse(record, request.body.send_images);
    });
  }

  app.get<{ Querystring: { skip_current_image?: boolean } }>(
    '/sdapi/v1/progress',
    { schema: { querystring: { type: 'object', properties: { skip_current_image: { type: 'boolean', default: false } } } } },
    async (request) => {
      const record = tracker.current();
      const pending = tracker.pendingCount();
      const progress = record?.progress;
      const fraction = progress ? progress.step / progress.totalSteps : 0;
      const elapsed = record?.startedAt ? (Date.now() - record.startedAt) / 1000 : 0;
      return {
        progress: fraction,
        eta_relative: fraction > 0 ? elapsed / fraction - elapsed : 0,
        state: {
          skipped: false,
          interrupted: false,
          stopping_generation: false,
          job: record ? `job ${record.id}` : '',
          job_count: pending,
          job_timestamp: record ? new Date(record.createdAt).toISOString().replace(/\D/g, '').slice(0, 14) : '0',
          job_no: progress?.image ?? 0,
          sampling_step: progress?.step ?? 0,
          sampling_steps: progress?.totalSteps ?? 0,
        },
        current_image: request.query.skip_current_image || record?.state !== 'running' ? null : (record.preview ?? null),
        textinfo: record ? `${record.state}` : null,
      };
    },
  );

  app.post('/sdapi/v1/interrupt', async () => {
    const record = tracker.current();
    if (record) await backend.cancel(record.id);
    return {};
  });

  app.get('/sdapi/v1/samplers', async () => a1111Samplers());

  app.get('/sdapi/v1/schedulers', async () => [
    { name: 'automatic', label: 'Automatic', aliases: null, default_rho: -1, need_inner_model: false },
    { name: 'karras', label: 'Karras', aliases: null, default_rho: 7, need_inner_model: false },
  ]);

  // Names only: a client never learns (or chooses) a filesystem path.
  app.get('/sdapi/v1/sd-models', async () =>
    context.jobContext().models.map((model) => ({ title: model.name, model_name: model.name, hash: null, sha256: null, filename: model.name, config: null })),
  );

  app.get('/sdapi/v1/options', async () => ({
    sd_model_checkpoint: context.jobContext().currentModel,
    samples_format: 'png',
    live_previews_enable: true,
    show_progress_every_n_steps: context.jobContext().previewEvery,
  }));

  app.post<{ Body: Record<string, unknown> }>('/sdapi/v1/options', { schema: { body: { type: 'object', properties: { sd_model_checkpoint: { type: 'string', maxLength: 256 } } } } }, async (request) => {
    const name = request.body.sd_model_checkpoint;
    if (typeof name === 'string') {
      if (!context.jobContext().models.some((model) => model.name === name)) {
        throw RequestValidationError.field('sd_model_checkpoint', `model '${name}' not found: GET /sdapi/v1/sd-models lists this server's models`, 'value_error.model');
      }
      context.setCurrentModel(name);
    }
    // Other A1111 options do not apply to latentkit and are ignored, as A1111 ignores unknown keys.
    return null;
  });
}
