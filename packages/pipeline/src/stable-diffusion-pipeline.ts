/**
 * Stable Diffusion (Rombach et al. 2022) in Node.js: text-to-image, image-to-image, inpainting
 * and prompt-free denoising over latentkit components, drawing random numbers in diffusers 0.25's
 * order so that a seed gives diffusers' image on the CPU.
 */
import {
  InvalidArgumentError,
  StateError,
  TorchGenerator,
  createTensor,
  assertShape,
  concatBatch,
  splitBatch,
  img2imgStartIndex,
  scaleLatents,
  throwIfAborted,
  unscaleLatents,
  type Generator,
  type Scheduler,
  type Tensor,
  type TextEncoder,
  type UNet,
  type Vae,
} from '@latentkit/core';
import { releaseFreedMemory } from '@latentkit/native';
import { assertCompatible, type PipelineTask } from './compatibility';
import { runDenoisingLoop, type InpaintingConditioning, type KnownRegionBlending } from './denoising-loop';
import type { GuidanceMode } from './guidance';
import { assertImage, imageToTensor, maskToTensor, tensorToImages, type ImageInput, type OutputType, type RgbImage } from './image';
import { LatentPreview } from './latent-preview';
import { downsampleMask, expandBatch, maskImage, scaleTensor } from './latent-preparation';
import { loadComponents, type PipelineLoadOptions } from './load-components';
import type { LoadReport } from './load-report';
import { ReopeningTextEncoder } from './reopening-text-encoder';
import { assertFinite } from './finite-check';
import { assertBatchFits } from './memory-estimate';
import { embeddingsFromTensors, encodePrompts } from './prompt-embeddings';
import { cloneScheduler } from './scheduler-choice';
import type {
  CommonOptions,
  DenoiseOptions,
  ImageToImageOptions,
  InpaintOptions,
  PipelineResult,
  PromptOptions,
  StableDiffusionComponents,
  StableDiffusionSettings,
  TextToImageOptions,
} from './pipeline-options';
import * as check from './validate-inputs';

/** Everything a run needs once inputs are checked. */
interface PreparedRun {
  task: PipelineTask;
  scheduler: Scheduler;
  release: () => void;
  generator: Generator;
  embeddings: Tensor<Float32Array>;
  guidance: boolean;
  guidanceScale: number;
}

/**
 * The Stable Diffusion pipeline.
 *
 * @example
 * ```ts
 * import { StableDiffusionPipeline } from '@latentkit/pipeline';
 * const pipeline = await StableDiffusionPipeline.fromPretrained(); // the bundled latentkit-tiny model
 * const { images } = await pipeline.textToImage({ prompt: 'a red circle on a blue background', seed: 42 });
 * await pipeline.dispose();
 * ```
 */
export class StableDiffusionPipeline {
  readonly unet: UNet;
  readonly vae: Vae;
  readonly textEncoder: TextEncoder | undefined;
  /** The configured scheduler; each call runs on a fresh copy of it. */
  readonly scheduler: Scheduler;
  readonly guidanceMode: GuidanceMode;
  /** Whether the text encoder's sessions close after each call's prompts are encoded (see {@link StableDiffusionSettings.releaseTextEncoder}). */
  readonly releaseTextEncoder: boolean;
  /**
   * Where `fromPretrained` spent its time, part by part and step by step (sessions opened, the
   * UNet's graph split, cache hits); undefined for a pipeline assembled from components.
   */
  readonly loadReport: LoadReport | undefined;
  private unconditional: Promise<Tensor<Float32Array>> | undefined;
  private latentPreview: Promise<LatentPreview> | undefined;
  private sharedSchedulerQueue: Promise<void> = Promise.resolve();
  private disposed = false;
  private readonly running = new Set<Promise<unknown>>();

  /** Assembles a pipeline from components (see `fromPretrained` to load a model folder). */
  constructor(components: StableDiffusionComponents, settings: StableDiffusionSettings = {}) {
    this.unet = components.unet;
    this.vae = components.vae;
    this.textEncoder = components.textEncoder;
    this.scheduler = components.scheduler;
    this.guidanceMode = check.oneOf('guidanceMode', settings.guidanceMode, ['batched', 'sequential'], 'batched');
    this.releaseTextEncoder = check.optionalBoolean('releaseTextEncoder', settings.releaseTextEncoder) ?? false;
    if (this.releaseTextEncoder && this.textEncoder !== undefined && !(this.textEncoder instanceof ReopeningTextEncoder)) {
      throw new InvalidArgumentError({
        name: 'releaseTextEncoder',
        expected: 'a text encoder the pipeline can reopen after releasing it',
        actual: this.textEncoder.name,
        hint: 'load the pipeline with StableDiffusionPipeline.fromPretrained(), or pass new ReopeningTextEncoder(encoder, open) as the text encoder',
      });
    }
    this.loadReport = settings.loadReport;
    if (components.unconditionalEmbedding) this.unconditional = Promise.resolve(components.unconditionalEmbedding);
    assertCompatible({
      textEncoders: this.textEncoder ? [this.textEncoder] : undefined,
      tokenizer: this.textEncoder?.tokenizer,
      unet: this.unet,
      vae: this.vae,
      scheduler: this.scheduler,
    });
  }

  /**
   * Loads a diffusers-layout ONNX model folder (default: the bundled `@latentkit/model-tiny`),
   * assembling its components through the plugin registry and checking that they fit.
   *
   * @example
   * ```ts
   * const pipeline = await StableDiffusionPipeline.fromPretrained('models/sd15-onnx', {
   *   scheduler: 'euler',
   *   sessionOptions: { threads: 4 },
   * });
   * ```
   */
  static async fromPretrained(folder?: string, options: PipelineLoadOptions = {}): Promise<StableDiffusionPipeline> {
    const { components, settings } = await loadComponents(folder, options);
    try {
      return new StableDiffusionPipeline(components, settings);
    } catch (error) {
      await Promise.allSettled([components.unet.dispose?.(), components.vae.dispose?.(), components.textEncoder?.dispose?.()]);
      throw error;
    }
  }

  /** The default image side: UNet sample size × VAE scale factor (512 when the UNet does not say). */
  get defaultImageSize(): number {
    return this.unet.sampleSize !== undefined ? this.unet.sampleSize * this.vae.scaleFactor : 512;
  }

  /**
   * Generates images from prompts.
   *
   * @example
   * ```ts
   * const { images } = await pipeline.textToImage({ prompt: 'a red circle', numInferenceSteps: 20, seed: 42 });
   * ```
   */
  textToImage<O extends OutputType = 'uint8'>(options: TextToImageOptions<O>): Promise<PipelineResult<O>> {
    return this.track(options, async () => {
      const o = (options ?? {}) as TextToImageOptions<O>;
      const steps = this.stepCount(o.numInferenceSteps);
      const width = check.imageSide('width', o.width, this.defaultImageSize, this.vae.scaleFactor);
      const height = check.imageSide('height', o.height, this.defaultImageSize, this.vae.scaleFactor);
      this.assertUNetSize(width, height, 'width', 'height');
      const shape = [this.batchOf(o, { width, height }), this.vae.latentChannels, height / this.vae.scaleFactor, width / this.vae.scaleFactor];
      const given = check.latentsValue(o.latents, shape);
      return this.withPrepared('text-to-image', o, { width, height }, (prepared) => {
        const scheduleStart = performance.now();
        prepared.scheduler.setTimesteps(steps);
        // diffusers: randn(shape, generator) · init_noise_sigma, the run's first draw.
        const noise = given ?? createTensor(shape, prepared.generator.randn(shape));
        const latents = scaleTensor(noise, prepared.scheduler.initNoiseSigma);
        assertFinite(latents, 'initial latents', undefined, given ? 'the latents passed in hold it: pass finite values' : "the generator's noise or the scheduler's init_noise_sigma holds it: check the generator and the scheduler config");
        o.timings?.add('scheduler', performance.now() - scheduleStart);
        return this.finish(o, prepared, prepared.scheduler.timesteps, latents);
      });
    });
  }

  /**
   * Changes an image towards prompts; `strength` sets how far (SDEdit, Meng et al. 2022).
   *
   * @example
   * ```ts
   * const { images } = await pipeline.imageToImage({ prompt: 'a green square', image, strength: 0.6, seed: 1 });
   * ```
   */
  imageToImage<O extends OutputType = 'uint8'>(options: ImageToImageOptions<O>): Promise<PipelineResult<O>> {
    return this.track(options, async () => {
      const o = (options ?? {}) as ImageToImageOptions<O>;
      const { steps, strength, image } = this.imageTaskInputs(o, 0.8);
      const batch = this.batchOf(o, image);
      return this.withPrepared('image-to-image', o, image, (prepared) => this.fromImage(o, prepared, image, batch, steps, strength));
    });
  }

  /**
   * Repaints the white part of `mask`. A 9-channel inpainting UNet reads the mask and the masked
   * image; a plain UNet gets the known region pasted back, re-noised, after every step.
   *
   * @example
   * ```ts
   * const { images } = await pipeline.inpaint({ prompt: 'a yellow star', image, mask, seed: 7 });
   * ```
   */
  inpaint<O extends OutputType = 'uint8'>(options: InpaintOptions<O>): Promise<PipelineResult<O>> {
    return this.track(options, async () => {
      const o = (options ?? {}) as InpaintOptions<O>;
      const { steps, strength, image } = this.imageTaskInputs(o, 1);
      const mask = assertMaskFits(o.mask, image);
      const batch = this.batchOf(o, image);
      const prepared = await this.prepare('inpaint', o, image);
      try {
        const { timesteps } = this.img2imgTimesteps(prepared.scheduler, steps, strength);
        const { vae, unet } = this;
        const { generator, scheduler } = prepared;
        const shape = [batch, vae.latentChannels, image.height / vae.scaleFactor, image.width / vae.scaleFactor];
        const pixels = imageToTensor(image);
        const maskPixels = maskToTensor(mask);
        const ninechannel = unet.inChannels === 2 * vae.latentChannels + 1;
        const fullStrength = strength === 1;
        // diffusers' prepare_latents: the image's latents (one posterior draw) when needed, then the noise.
        const imageLatents =
          !ninechannel || !fullStrength ? expandBatch(await this.encodeImage(pixels, generator, o), batch) : undefined;
        const noise = createTensor(shape, generator.randn(shape));
        const latents = fullStrength
          ? scaleTensor(noise, scheduler.initNoiseSigma)
          : scheduler.addNoise(imageLatents!, noise, new Array<number>(batch).fill(timesteps[0]!));
        // prepare_mask_latents: the mask at latent size and the masked image's latents (another draw).
        const latentMask = expandBatch(downsampleMask(maskPixels, vae.scaleFactor), batch);
        const maskedImageLatents = expandBatch(await this.encodeImage(maskImage(pixels, maskPixels), generator, o), batch);
        const inpainting: InpaintingConditioning | undefined = ninechannel ? { mask: latentMask, maskedImageLatents } : undefined;
        const blending: KnownRegionBlending | undefined = ninechannel ? undefined : { mask: latentMask, imageLatents: imageLatents!, noise };
        return await this.finish(o, prepared, timesteps, latents, { inpainting, blending });
      } finally {
        prepared.release();
      }
    });
  }

  /**
   * Cleans an image without a prompt: adds `strength` worth of noise and removes it, conditioned
   * on the empty prompt's states (computed once, or shipped with the model) and without guidance.
   *
   * @example
   * ```ts
   * const { images } = await pipeline.denoise({ image: noisy, strength: 0.3, seed: 0 });
   * ```
   */
  denoise<O extends OutputType = 'uint8'>(options: DenoiseOptions<O>): Promise<PipelineResult<O>> {
    return this.track(options, async () => {
      const o = (options ?? {}) as DenoiseOptions<O>;
      const { steps, strength, image } = this.imageTaskInputs(o, 0.3);
      return this.withPrepared('denoise', o, image, (prepared) => this.fromImage(o, prepared, image, 1, steps, strength));
    });
  }

  /** The empty prompt's states `[1, seq, D]`: shipped with the pipeline, or encoded once and cached. */
  unconditionalEmbedding(): Promise<Tensor<Float32Array>> {
    if (!this.unconditional) {
      const encoder = this.textEncoder;
      if (!encoder) {
        return Promise.reject(
          new StateError('denoise() needs the empty prompt\'s embedding: load the pipeline with a text encoder, or ship unconditional_embedding.json in the model folder'),
        );
      }
      this.unconditional = encoder.encode(['']).then(async (out) => {
        if (this.releaseTextEncoder) await this.releaseTextEncoderSessions();
        return out.hiddenStates;
      });
      this.unconditional.catch(() => (this.unconditional = undefined));
    }
    return this.unconditional;
  }

  /** Closes the text encoder's sessions (they reopen on the next encode) and returns the freed memory to the system. */
  private async releaseTextEncoderSessions(): Promise<void> {
    await (this.textEncoder as ReopeningTextEncoder).release();
    releaseFreedMemory();
  }

  /** Waits for running calls, then releases every component's sessions. Later calls throw a {@link StateError}. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await Promise.allSettled([...this.running]);
    await Promise.all([this.unet.dispose?.(), this.vae.dispose?.(), this.textEncoder?.dispose?.(), this.scheduler.dispose?.()]);
    // glibc keeps the freed session memory mapped (70–80 MB for latentkit-tiny): give it back.
    releaseFreedMemory();
  }

  // --- shared steps -------------------------------------------------------------------------

  private async track<T>(options: CommonOptions | undefined, work: () => Promise<T>): Promise<T> {
    if (this.disposed) throw new StateError('This pipeline was disposed: load it again with StableDiffusionPipeline.fromPretrained()');
    const timings = options?.timings;
    timings?.start();
    const promise = work();
    this.running.add(promise);
    try {
      return await promise;
    } finally {
      this.running.delete(promise);
      timings?.stop();
    }
  }

  /** prompts × images per prompt, refused when its estimated memory exceeds the machine's. */
  private batchOf(o: Partial<PromptOptions>, size: { width: number; height: number }): number {
    const prompts = o.promptEmbeds ? o.promptEmbeds.dims[0]! : o.prompt === undefined ? 1 : check.promptList('prompt', o.prompt).length;
    const imagesPerPrompt = check.positiveInteger('numImagesPerPrompt', o.numImagesPerPrompt, 1);
    assertBatchFits({ prompts, imagesPerPrompt, width: size.width, height: size.height });
    return prompts * imagesPerPrompt;
  }

  /**
   * `numInferenceSteps`, checked against what the scheduler's config can place before any compute
   * (e.g. at most 999 with SD 1.5's "leading" spacing and steps_offset 1), on a throw-away copy.
   */
  private stepCount(value: unknown): number {
    const steps = check.positiveInteger('numInferenceSteps', value, 50);
    const probe = cloneScheduler(this.scheduler);
    if (!probe) return steps;
    try {
      probe.setTimesteps(steps);
    } catch (error) {
      if (!InvalidArgumentError.isInstance(error)) throw error;
      throw new InvalidArgumentError({ name: 'numInferenceSteps', expected: error.expected, actual: steps, hint: error.message });
    } finally {
      probe.dispose?.();
    }
    return steps;
  }

  /** What imageToImage, inpaint and denoise check first: the step count, the strength (its default per task) and the image. */
  private imageTaskInputs(o: { numInferenceSteps?: number; strength?: number; image?: unknown }, defaultStrength: number): { steps: number; strength: number; image: ImageInput } {
    const steps = this.stepCount(o.numInferenceSteps);
    return { steps, strength: check.strengthValue(o.strength, defaultStrength, steps), image: this.checkedImage('image', o.image) };
  }

  private checkedImage(name: string, value: unknown): ImageInput {
    const image = assertImage(name, value);
    check.imageSide(`${name}.width`, image.width, image.width, this.vae.scaleFactor);
    check.imageSide(`${name}.height`, image.height, image.height, this.vae.scaleFactor);
    this.assertUNetSize(image.width, image.height, `${name}.width`, `${name}.height`);
    if (!this.vae.canEncode) throw new StateError('This pipeline\'s VAE has no encoder (no vae_encoder/ in the model folder): only textToImage() can run');
    return image;
  }

  /** An export with fixed spatial axes (`fixedSampleSize`, as `OnnxUNet` reports) runs one size only. */
  private assertUNetSize(width: number, height: number, widthName: string, heightName: string): void {
    const fixed = this.unet.fixedSampleSize;
    const scale = this.vae.scaleFactor;
    // The UNet's own multiple: each down-sampling stage halves the latent, and the skip
    // connections need the halves to line up again (OnnxUNet reads it from down_block_types).
    const latentMultiple = this.unet.sampleMultiple;
    if (!fixed && latentMultiple !== undefined && latentMultiple > 1) {
      const multiple = latentMultiple * scale;
      for (const [name, value] of [[widthName, width], [heightName, height]] as const) {
        if (value % multiple !== 0) {
          const below = Math.max(multiple, Math.floor(value / multiple) * multiple);
          const above = Math.ceil(value / multiple) * multiple;
          throw new InvalidArgumentError({
            name,
            expected: `a multiple of ${multiple} (the VAE's factor ${scale} × ${latentMultiple} for the UNet's ${Math.log2(latentMultiple)} down-sampling stage${latentMultiple === 2 ? '' : 's'})`,
            actual: value,
            hint: below === above ? `use ${below}` : `use ${below} or ${above}`,
          });
        }
      }
    }
    if (!fixed) return;
    for (const [name, value, expected] of [[widthName, width, fixed[1] * scale], [heightName, height, fixed[0] * scale]] as const) {
      if (value !== expected) {
        throw new InvalidArgumentError({
          name,
          expected: `${expected} (this UNet export has a fixed ${fixed[0]}×${fixed[1]} latent, ${fixed[1] * scale}×${fixed[0] * scale} images)`,
          actual: value,
          hint: 're-export the UNet with dynamic height and width axes to generate other sizes',
        });
      }
    }
  }

  /** Validates the common options, checks compatibility, picks the generator and scheduler, encodes the prompts. */
  /** Runs `work` on a prepared run ({@link prepare}), releasing it however `work` ends. */
  private async withPrepared<R>(
    task: PipelineTask,
    o: Partial<PromptOptions> & CommonOptions,
    image: { width: number; height: number },
    work: (prepared: PreparedRun) => Promise<R>,
  ): Promise<R> {
    const prepared = await this.prepare(task, o, image);
    try {
      return await work(prepared);
    } finally {
      prepared.release();
    }
  }

  private async prepare(task: PipelineTask, o: Partial<PromptOptions> & CommonOptions, image: { width: number; height: number }): Promise<PreparedRun> {
    const random = check.randomSource(o.seed, o.generator);
    check.oneOf('outputType', o.outputType, ['uint8', 'float'], 'uint8');
    check.oneOf('guidanceMode', o.guidanceMode, ['batched', 'sequential'], this.guidanceMode);
    check.optionalFunction('onStep', o.onStep);
    const signal = check.optionalSignal(o.signal);
    if (o.eta !== undefined) check.finiteNumber('eta', o.eta, 0, 0);
    assertCompatible({ unet: this.unet, vae: this.vae, image, task });

    const promptTask = task !== 'denoise';
    const guidanceScale = promptTask ? check.finiteNumber('guidanceScale', o.guidanceScale, 7.5, 0) : 1;
    // diffusers: do_classifier_free_guidance = guidance_scale > 1.
    const guidance = guidanceScale > 1;
    const numImagesPerPrompt = check.positiveInteger('numImagesPerPrompt', o.numImagesPerPrompt, 1);
    let prompts: string[] = [];
    let negatives: string[] = [];
    if (promptTask && !o.promptEmbeds) {
      prompts = check.promptList('prompt', o.prompt);
      negatives = check.negativePromptList(o.negativePrompt, prompts.length);
      if (!this.textEncoder) throw new StateError('This pipeline has no text encoder: load one, or pass promptEmbeds');
    }
    throwIfAborted(signal);

    const generator = random.generator ?? new TorchGenerator(random.seed ?? BigInt(Math.floor(Math.random() * 2 ** 52)));
    const { scheduler, release } = await this.acquireScheduler();
    try {
      let embeddings: Tensor<Float32Array>;
      const encodeStart = performance.now();
      if (!promptTask) {
        embeddings = await this.unconditionalEmbedding();
      } else if (o.promptEmbeds) {
        for (const [name, tensor] of [['promptEmbeds', o.promptEmbeds], ['negativePromptEmbeds', o.negativePromptEmbeds]] as const) {
          if (tensor) assertShape(name, tensor, [o.promptEmbeds.dims[0]!, null, this.unet.crossAttentionDim]);
        }
        embeddings = embeddingsFromTensors(o.promptEmbeds, o.negativePromptEmbeds, numImagesPerPrompt, guidance);
      } else {
        embeddings = await encodePrompts({ encoder: this.textEncoder!, prompts, negativePrompts: negatives, numImagesPerPrompt, guidance, signal });
        if (this.releaseTextEncoder) await this.releaseTextEncoderSessions();
      }
      o.timings?.add('textEncoder', performance.now() - encodeStart);
      return { task, scheduler, release, generator, embeddings, guidance, guidanceScale };
    } catch (error) {
      release();
      throw error;
    }
  }

  /** A fresh copy of the scheduler (its `clone()`), or the shared instance one call at a time when it has none. */
  private async acquireScheduler(): Promise<{ scheduler: Scheduler; release: () => void }> {
    const copy = cloneScheduler(this.scheduler);
    if (copy) return { scheduler: copy, release: () => copy.dispose?.() };
    let release!: () => void;
    const turn = this.sharedSchedulerQueue;
    this.sharedSchedulerQueue = new Promise<void>((resolve) => (release = resolve));
    await turn;
    return { scheduler: this.scheduler, release };
  }

  /** diffusers' `get_timesteps` ({@link img2imgStartIndex}), through the scheduler's own method when it has one. */
  private img2imgTimesteps(scheduler: Scheduler, steps: number, strength: number): { timesteps: readonly number[] } {
    if (scheduler.getImg2ImgTimesteps) return scheduler.getImg2ImgTimesteps(steps, strength);
    const start = img2imgStartIndex(steps, strength, scheduler.order);
    scheduler.setTimesteps(steps);
    return { timesteps: scheduler.timesteps.slice(start) };
  }

  /** image-to-image and denoise: encode (one posterior draw), repeat, draw noise, noise to the first timestep. */
  private async fromImage<O extends OutputType>(
    o: CommonOptions<O>,
    prepared: PreparedRun,
    image: ImageInput,
    batch: number,
    steps: number,
    strength: number,
  ): Promise<PipelineResult<O>> {
    const { scheduler, generator } = prepared;
    const { timesteps } = this.img2imgTimesteps(scheduler, steps, strength);
    const imageLatents = expandBatch(await this.encodeImage(imageToTensor(image), generator, o), batch);
    const noise = createTensor(imageLatents.dims, generator.randn(imageLatents.dims));
    const latents = scheduler.addNoise(imageLatents, noise, new Array<number>(batch).fill(timesteps[0]!));
    return this.finish(o, prepared, timesteps, latents);
  }

  /** The VAE decode; with a signal, one image per call, so that an abort waits for one image only. */
  private async decodeLatents(latents: Tensor<Float32Array>, signal: AbortSignal | undefined): Promise<Tensor<Float32Array>> {
    const batch = latents.dims[0]!;
    if (!signal || batch === 1) return this.vae.decode(latents, { signal });
    const images: Tensor<Float32Array>[] = [];
    for (const item of splitBatch(latents, batch)) {
      throwIfAborted(signal);
      images.push(await this.vae.decode(item, { signal }));
    }
    return concatBatch(images);
  }

  private async encodeImage(pixels: Tensor<Float32Array>, generator: Generator, o: CommonOptions): Promise<Tensor<Float32Array>> {
    const start = performance.now();
    const encoded = await this.vae.encode(pixels, { generator, signal: o.signal });
    o.timings?.add('vaeEncode', performance.now() - start);
    assertFinite(encoded, "VAE encoder's output", undefined, 'the input image was finite, so the VAE encoder produced it: fp16 overflow? run the VAE in float32');
    return scaleLatents(this.vae, encoded);
  }

  private async preview(latents: Tensor<Float32Array>, quality: 'fast' | 'full' = 'fast'): Promise<RgbImage[]> {
    check.oneOf('quality', quality, ['fast', 'full'], 'fast');
    if (quality === 'full') return tensorToImages(await this.vae.decode(unscaleLatents(this.vae, latents)), 'uint8');
    this.latentPreview ??= LatentPreview.fit(this.vae);
    this.latentPreview.catch(() => (this.latentPreview = undefined));
    return (await this.latentPreview).toImages(latents);
  }

  /** Runs the loop, decodes and converts. */
  private async finish<O extends OutputType>(
    o: CommonOptions<O>,
    prepared: PreparedRun,
    timesteps: readonly number[],
    start: Tensor<Float32Array>,
    extra: { inpainting?: InpaintingConditioning; blending?: KnownRegionBlending } = {},
  ): Promise<PipelineResult<O>> {
    const outputType = (o.outputType ?? 'uint8') as OutputType;
    const onStep = o.onStep;
    const latents = await runDenoisingLoop({
      unet: this.unet,
      scheduler: prepared.scheduler,
      timesteps,
      latents: start,
      embeddings: prepared.embeddings,
      guidance: prepared.guidance,
      guidanceScale: prepared.guidanceScale,
      guidanceMode: o.guidanceMode ?? this.guidanceMode,
      generator: prepared.generator,
      eta: o.eta,
      ...extra,
      onStep: onStep ? (report) => onStep({ ...report, preview: (quality) => this.preview(report.predictedOriginal ?? report.latents, quality) }) : undefined,
      signal: o.signal,
      timings: o.timings,
    });
    const decodeStart = performance.now();
    const decoded = await this.decodeLatents(unscaleLatents(this.vae, latents), o.signal);
    o.timings?.add('vaeDecode', performance.now() - decodeStart);
    // An abort during the (uninterruptible) decode still wins: no images come back.
    throwIfAborted(o.signal);
    const convertStart = performance.now();
    const images = tensorToImages(decoded, outputType);
    o.timings?.add('postprocess', performance.now() - convertStart);
    return { images, latents } as PipelineResult<O>;
  }
}

/** The mask must be an image of the image's size. */
function assertMaskFits(value: unknown, image: ImageInput): ImageInput {
  const mask = assertImage('mask', value);
  if (mask.width !== image.width || mask.height !== image.height) {
    throw new InvalidArgumentError({
      name: 'mask',
      expected: `a ${image.width}×${image.height} image (the image's size)`,
      actual: `${mask.width}×${mask.height}`,
      hint: 'resize the mask to the image',
    });
  }
  return mask;
}
