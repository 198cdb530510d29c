/**
 * AUTOMATIC1111's `/sdapi/v1/txt2img` and `/img2img` request bodies: their JSON schemas (field
 * names and defaults as in A1111's `modules/api/models.py`), checked by fastify before a handler
 * runs, and the step from a checked body to a {@link GenerationJob}.
 */
import { randomInt } from 'node:crypto';
import { resolveSchedulerName } from '@latentkit/schedulers';
import type { GenerationJob, GenerationTask } from './generation-job';
import { RequestValidationError, type FieldError } from './request-errors';
import type { ModelEntry, RequestLimits } from './server-options';

/** The largest seed: A1111 draws seeds in [0, 2³²). */
export const MAX_SEED = 2 ** 32 - 1;

/**
 * The JSON schema of a txt2img / img2img body under `limits`. Fields A1111 has and latentkit does
 * not use (`restore_faces`, `enable_hr`, `styles`, …) are accepted and ignored, as FastAPI does.
 *
 * @example
 * ```ts
 * app.post('/sdapi/v1/txt2img', { schema: { body: generationBodySchema('txt2img', DEFAULT_LIMITS) } }, handler);
 * ```
 */
export function generationBodySchema(task: 'txt2img' | 'img2img' | 'job', limits: RequestLimits): Record<string, unknown> {
  const text = { type: 'string', maxLength: limits.maxPromptLength };
  const image = { type: 'string', maxLength: limits.maxBodyBytes };
  const properties: Record<string, unknown> = {
    prompt: { ...text, default: '' },
    negative_prompt: { ...text, default: '' },
    steps: { type: 'integer', minimum: 1, maximum: limits.maxSteps, default: 20 },
    cfg_scale: { type: 'number', minimum: 0, maximum: 100, default: 7 },
    width: { type: 'integer', minimum: 8, maximum: 8192 },
    height: { type: 'integer', minimum: 8, maximum: 8192 },
    seed: { type: 'integer', minimum: -1, maximum: MAX_SEED, default: -1 },
    sampler_name: { type: 'string', maxLength: 64 },
    sampler_index: { type: 'string', maxLength: 64 },
    scheduler: { type: 'string', maxLength: 64 },
    batch_size: { type: 'integer', minimum: 1, maximum: limits.maxImages, default: 1 },
    n_iter: { type: 'integer', minimum: 1, maximum: limits.maxImages, default: 1 },
    eta: { type: 'number', minimum: 0, maximum: 1 },
    denoising_strength: { type: 'number', minimum: 0, maximum: 1, default: 0.75 },
    send_images: { type: 'boolean', default: true },
    override_settings: { type: 'object', default: {}, properties: { sd_model_checkpoint: { type: 'string', maxLength: 256 } } },
  };
  if (task !== 'txt2img') {
    properties.init_images = { type: 'array', items: image, maxItems: limits.maxImages };
    properties.mask = { anyOf: [image, { type: 'null' }] };
  }
  if (task === 'job') {
    properties.task = { type: 'string', enum: ['txt2img', 'img2img', 'inpaint'], default: 'txt2img' };
    properties.model = { type: 'string', maxLength: 256 };
    properties.priority = { type: 'integer', minimum: 0, maximum: 1000, default: 0 };
    properties.preview_every = { type: 'integer', minimum: 0, maximum: 1000, default: 1 };
  }
  return { type: 'object', properties };
}

/** A body that passed {@link generationBodySchema} (defaults filled in). */
export interface GenerationBody {
  prompt: string;
  negative_prompt: string;
  steps: number;
  cfg_scale: number;
  width?: number;
  height?: number;
  seed: number;
  sampler_name?: string;
  sampler_index?: string;
  scheduler?: string;
  batch_size: number;
  n_iter: number;
  eta?: number;
  denoising_strength: number;
  send_images: boolean;
  override_settings: { sd_model_checkpoint?: string };
  init_images?: string[];
  mask?: string | null;
  task?: GenerationTask;
  model?: string;
  priority?: number;
  preview_every?: number;
}

/** What a request is checked against beyond its schema. */
export interface JobContext {
  readonly limits: RequestLimits;
  readonly models: readonly ModelEntry[];
  /** The model `sd_model_checkpoint` selects (`/sdapi/v1/options`). */
  readonly currentModel: string;
  /** Steps between previews when the request does not say (A1111 clients poll /progress). */
  readonly previewEvery: number;
}

/**
 * The sampler a request names, checked against the schedulers latentkit has; A1111 ≥ 1.9 sends
 * the sigma schedule apart (`scheduler: "Karras"`). Undefined: the model's own scheduler.
 */
export function samplerOf(body: Pick<GenerationBody, 'sampler_name' | 'sampler_index' | 'scheduler'>): string | undefined {
  const name = body.sampler_name || body.sampler_index;
  if (!name) return undefined;
  const schedule = body.scheduler?.toLowerCase();
  if (schedule && schedule !== 'automatic' && !name.toLowerCase().endsWith(schedule)) {
    const combined = `${name} ${body.scheduler}`;
    if (resolveSchedulerName(combined)) return combined;
  }
  return name;
}

/**
 * A checked body → the job a worker runs; throws {@link RequestValidationError} (422) for what the
 * schema cannot say (pixel budget, image count, sampler and model names, a missing init image).
 *
 * @example
 * ```ts
 * const job = jobFromBody(request.body, 'txt2img', { limits: DEFAULT_LIMITS, models, currentModel: 'latentkit-tiny', previewEvery: 1 });
 * ```
 */
export function jobFromBody(body: GenerationBody, endpoint: 'txt2img' | 'img2img' | 'job', context: JobContext): GenerationJob {
  const errors: FieldError[] = [];
  const fail = (field: string, msg: string, type = 'value_error'): void => void errors.push({ loc: ['body', field], msg, type });
  const { limits } = context;

  let task: GenerationTask = endpoint === 'job' ? (body.task ?? 'txt2img') : endpoint;
  if (endpoint === 'img2img' && body.mask) task = 'inpaint';
  if (body.prompt.trim() === '') fail('prompt', 'ensure this value is a non-empty prompt: describe the image', 'value_error.any_str.min_length');
  if (task !== 'txt2img' && !body.init_images?.length) fail('init_images', `${task} needs an init image (base64 PNG or JPEG) in init_images`, 'value_error.missing');
  if (task === 'inpaint' && !body.mask) fail('mask', 'inpaint needs a mask (base64, white repaints)', 'value_error.missing');
  if (task !== 'txt2img' && !(body.denoising_strength > 0)) fail('denoising_strength', `ensure this value is greater than 0 for ${task}`, 'value_error.number.not_gt');

  if (body.width !== undefined && body.height !== undefined && body.width * body.height > limits.maxPixels) {
    fail('width', `width × height must be at most ${limits.maxPixels} pixels, got ${body.width} × ${body.height} = ${body.width * body.height}`, 'value_error.number.not_le');
  } else {
    // One side given, the other the model's default: bound the side alone (aspect ratios up to 16:1).
    const longest = Math.floor(Math.sqrt(limits.maxPixels * 16));
    for (const side of ['width', 'height'] as const) {
      const value = body[side];
      if (value !== undefined && value > longest) fail(side, `ensure this value is less than or equal to ${longest} (the ${limits.maxPixels}-pixel limit at 16:1)`, 'value_error.number.not_le');
    }
  }
  const count = body.batch_size * body.n_iter;
  if (count > limits.maxImages) fail('batch_size', `batch_size × n_iter must be at most ${limits.maxImages} images, got ${body.batch_size} × ${body.n_iter} = ${count}`, 'value_error.number.not_le');

  const sampler = samplerOf(body);
  if (sampler !== undefined && !resolveSchedulerName(sampler)) {
    fail(body.sampler_name ? 'sampler_name' : 'sampler_index', `unknown sampler '${sampler}': GET /sdapi/v1/samplers lists the names this server runs`, 'value_error.sampler');
  }
  const model = body.model ?? body.override_settings?.sd_model_checkpoint ?? context.currentModel;
  if (!context.models.some((entry) => entry.name === model)) {
    fail(body.model !== undefined ? 'model' : 'override_settings', `unknown model '${model}': this server runs ${context.models.map((m) => `'${m.name}'`).join(', ')} (GET /sdapi/v1/sd-models)`, 'value_error.model');
  }
  if (errors.length > 0) throw new RequestValidationError(errors);

  const first = body.seed === -1 ? randomInt(0, MAX_SEED - limits.maxImages) : body.seed;
  const seeds = Array.from({ length: count }, (_, i) => (first + i) % (MAX_SEED + 1));
  const { init_images: initImages, mask, ...echo } = body;
  return {
    task,
    model,
    prompt: body.prompt,
    negativePrompt: body.negative_prompt,
    sampler: sampler ?? '',
    steps: body.steps,
    cfgScale: body.cfg_scale,
    width: body.width,
    height: body.height,
    seeds,
    eta: body.eta,
    denoisingStrength: task === 'txt2img' ? undefined : body.denoising_strength,
    initImage: task === 'txt2img' ? undefined : initImages?.[0],
    mask: task === 'inpaint' ? (mask ?? undefined) : undefined,
    previewEvery: body.preview_every ?? context.previewEvery,
    parameters: { ...echo, seed: body.seed, init_images: initImages ? initImages.map(() => '<image>') : undefined, mask: mask ? '<mask>' : undefined },
  };
}
