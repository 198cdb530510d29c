/**
 * Runs {@link GenerationJob}s on `StableDiffusionPipeline`s: one pipeline per configured model,
 * loaded on first use, and a light copy of it per sampler that shares the networks. Each image
 * is drawn from its own seed, so that image i of a request is reproducible alone (A1111's
 * `seed + i`). Used in-process by `latentkit serve` and by every `latentkit worker`.
 */
import { AbortError, InvalidArgumentError, type Scheduler } from '@latentkit/core';
import { StableDiffusionPipeline, type PipelineLoadOptions, type RgbImage, type StepProgress } from '@latentkit/pipeline';
import { schedulerFromName } from '@latentkit/schedulers';
import type { GenerationJob, GenerationOutput, JobProgress } from './generation-job';
import { decodeImage, encodePng } from './png-codec';
import type { ModelEntry } from './server-options';

/** Options of {@link GenerationRunner}. */
export interface GenerationRunnerOptions {
  /** The models this runner may load, by name. */
  readonly models: readonly ModelEntry[];
  /** Passed to `fromPretrained` (threads, execution provider). */
  readonly loadOptions?: PipelineLoadOptions;
  /** Named in results (`worker` in `info`). */
  readonly workerName?: string;
}

/** What one run reports while it runs. */
export interface RunCallbacks {
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: JobProgress) => void | Promise<void>;
}

/**
 * Loads models on demand and runs jobs on them.
 *
 * @example
 * ```ts
 * const runner = new GenerationRunner({ models: [{ name: 'latentkit-tiny' }] });
 * const output = await runner.run(job, { onProgress: (p) => console.log(p.step, p.totalSteps) });
 * await runner.dispose();
 * ```
 */
export class GenerationRunner {
  private readonly pipelines = new Map<string, Promise<StableDiffusionPipeline>>();
  private readonly variants = new Map<string, StableDiffusionPipeline>();

  constructor(private readonly options: GenerationRunnerOptions) {}

  /** The model's pipeline, loading it on first use. */
  pipeline(model: string): Promise<StableDiffusionPipeline> {
    let loading = this.pipelines.get(model);
    if (!loading) {
      const entry = this.options.models.find((m) => m.name === model);
      if (!entry) {
        return Promise.reject(
          new InvalidArgumentError({ name: 'model', expected: `one of ${this.options.models.map((m) => `'${m.name}'`).join(', ')}`, actual: model, hint: 'start the worker with this model' }),
        );
      }
      loading = StableDiffusionPipeline.fromPretrained(entry.path, this.options.loadOptions);
      loading.catch(() => this.pipelines.delete(model));
      this.pipelines.set(model, loading);
    }
    return loading;
  }

  /** The model's pipeline with `sampler`'s scheduler configured from the model's own config. */
  private async pipelineFor(model: string, sampler: string): Promise<StableDiffusionPipeline> {
    const base = await this.pipeline(model);
    if (!sampler) return base;
    const key = `${model}\u0000${sampler}`;
    let variant = this.variants.get(key);
    if (!variant) {
      let scheduler: Scheduler;
      try {
        scheduler = schedulerFromName(sampler, base.scheduler);
      } catch (error) {
        if (InvalidArgumentError.isInstance(error)) throw new InvalidArgumentError({ name: 'name', expected: error.expected, actual: sampler });
        throw error;
      }
      variant = new StableDiffusionPipeline({ unet: base.unet, vae: base.vae, textEncoder: base.textEncoder, scheduler }, { guidanceMode: base.guidanceMode });
      this.variants.set(key, variant);
    }
    return variant;
  }

  /** Runs a job; on abort, returns the images finished before it with `interrupted: true`. */
  async run(job: GenerationJob, callbacks: RunCallbacks = {}): Promise<GenerationOutput> {
    const started = performance.now();
    const pipeline = await this.pipelineFor(job.model, job.sampler);
    const width = job.width ?? pipeline.defaultImageSize;
    const height = job.height ?? pipeline.defaultImageSize;
    const image = job.initImage !== undefined ? await decodeImage(job.initImage, 'image', { width, height }) : undefined;
    const mask = job.mask !== undefined ? await decodeImage(job.mask, 'mask', { width, height, grey: true }) : undefined;
    // img2img runs ⌊steps · strength⌋ steps (diffusers' get_timesteps); count those for progress.
    const stepsPerImage = job.task === 'txt2img' ? job.steps : Math.max(1, Math.min(job.steps, Math.floor(job.steps * (job.denoisingStrength ?? 1))));
    const totalSteps = stepsPerImage * job.seeds.length;
    const images: string[] = [];
    const seeds: number[] = [];
    let interrupted = false;
    for (let index = 0; index < job.seeds.length; index++) {
      const seed = job.seeds[index]!;
      const onStep = async (progress: StepProgress): Promise<void> => {
        if (!callbacks.onProgress) return;
        const step = index * stepsPerImage + Math.min(progress.step + 1, stepsPerImage);
        const last = progress.step + 1 === progress.numSteps;
        const wantPreview = job.previewEvery > 0 && !last && (progress.step + 1) % job.previewEvery === 0;
        const preview = wantPreview ? await encodePng(((await progress.preview('fast')) as RgbImage[])[0]!) : undefined;
        await callbacks.onProgress({ step, totalSteps, image: index, images: job.seeds.length, preview });
      };
      const common = {
        prompt: job.prompt,
        negativePrompt: job.negativePrompt,
        numInferenceSteps: job.steps,
        guidanceScale: job.cfgScale,
        seed,
        eta: job.eta,
        signal: callbacks.signal,
        onStep,
      };
      try {
        const result =
          job.task === 'txt2img'
            ? await pipeline.textToImage({ ...common, width: job.width, height: job.height })
            : job.task === 'img2img'
              ? await pipeline.imageToImage({ ...common, image: image!, strength: job.denoisingStrength })
              : await pipeline.inpaint({ ...common, image: image!, mask: mask!, strength: job.denoisingStrength });
        images.push(await encodePng(result.images[0]!));
        seeds.push(seed);
      } catch (error) {
        if (AbortError.isInstance(error) || callbacks.signal?.aborted) {
          interrupted = true;
          break;
        }
        throw error;
      }
    }
    return { images, seeds, width, height, interrupted, elapsedMs: performance.now() - started, worker: this.options.workerName };
  }

  /** Releases every loaded model. */
  async dispose(): Promise<void> {
    const loaded = await Promise.allSettled([...this.pipelines.values()]);
    this.pipelines.clear();
    this.variants.clear();
    await Promise.all(loaded.map((p) => (p.status === 'fulfilled' ? p.value.dispose() : undefined)));
  }
}
