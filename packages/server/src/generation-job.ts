/**
 * A generation job as plain JSON data: what the HTTP layer builds from a request, what BullMQ
 * stores in Redis, and what a worker runs. Seeds are resolved (−1 → random) before a job is
 * made, so that a job retried on another worker draws the same images.
 */

/** Which pipeline task a job runs. */
export type GenerationTask = 'txt2img' | 'img2img' | 'inpaint';

/** One generation: `seeds.length` images, each drawn from its own seed. */
export interface GenerationJob {
  readonly task: GenerationTask;
  /** A model name from the server's configured list (never a path). */
  readonly model: string;
  readonly prompt: string;
  readonly negativePrompt: string;
  /** An AUTOMATIC1111 sampler name (`"Euler a"`, `"DPM++ 2M Karras"`) or a latentkit alias. */
  readonly sampler: string;
  readonly steps: number;
  readonly cfgScale: number;
  /** Omitted: the model's default size. */
  readonly width?: number;
  readonly height?: number;
  /** One seed per image: A1111's `seed + i` for image i of `batch_size × n_iter`. */
  readonly seeds: readonly number[];
  /** DDIM's η. */
  readonly eta?: number;
  /** img2img / inpaint: how far to move from the init image, in (0, 1]. */
  readonly denoisingStrength?: number;
  /** img2img / inpaint: the init image, base64 (PNG, JPEG or WebP), resized to width × height. */
  readonly initImage?: string;
  /** inpaint: the mask, base64; white repaints. */
  readonly mask?: string;
  /** Send a preview every this many steps (0: none). */
  readonly previewEvery: number;
  /** The request's parameters as received, echoed in the response's `parameters`. */
  readonly parameters: Readonly<Record<string, unknown>>;
}

/** What a run produced. */
export interface GenerationOutput {
  /** Base64 PNGs, one per finished image (fewer than the seeds when interrupted). */
  readonly images: string[];
  /** The seeds of `images`, in order. */
  readonly seeds: number[];
  readonly width: number;
  readonly height: number;
  /** True when the run was cancelled: `images` holds those finished before. */
  readonly interrupted: boolean;
  /** How long the run took on the worker, in milliseconds. */
  readonly elapsedMs: number;
  /** The worker that ran it (host name and process id in queue mode). */
  readonly worker?: string;
}

/** A step report as it travels from a worker to clients. */
export interface JobProgress {
  /** Steps finished over all images of the job. */
  readonly step: number;
  readonly totalSteps: number;
  /** 0-based index of the image being drawn. */
  readonly image: number;
  readonly images: number;
  /** Base64 PNG of the current estimate, on steps where one was made. */
  readonly preview?: string;
}

/**
 * A1111's `info` string: JSON holding the seeds and settings of the images returned.
 *
 * @example
 * ```ts
 * JSON.parse(infoString(job, output)).all_seeds; // [42, 43]
 * ```
 */
export function infoString(job: GenerationJob, output: GenerationOutput): string {
  return JSON.stringify({
    prompt: job.prompt,
    all_prompts: output.seeds.map(() => job.prompt),
    negative_prompt: job.negativePrompt,
    all_negative_prompts: output.seeds.map(() => job.negativePrompt),
    seed: output.seeds[0] ?? job.seeds[0],
    all_seeds: output.seeds,
    subseed: -1,
    all_subseeds: output.seeds.map(() => -1),
    subseed_strength: 0,
    width: output.width,
    height: output.height,
    sampler_name: job.sampler,
    cfg_scale: job.cfgScale,
    steps: job.steps,
    batch_size: job.seeds.length,
    denoising_strength: job.denoisingStrength ?? null,
    sd_model_name: job.model,
    interrupted: output.interrupted,
    worker: output.worker ?? null,
  });
}
