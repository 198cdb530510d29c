/**
 * The options and results of {@link StableDiffusionPipeline}'s tasks, as plain typed data.
 */
import type { Generator, Scheduler, Tensor, TextEncoder, UNet, Vae } from '@latentkit/core';
import type { StepReport } from './denoising-loop';
import type { GuidanceMode } from './guidance';
import type { FloatRgbImage, ImageInput, OutputType, RgbImage } from './image';
import type { LoadReport } from './load-report';
import type { StageTimings } from './stage-timings';

/** The parts of a pipeline (see `new StableDiffusionPipeline(components)`). A text encoder is needed for every task but `denoise`. */
export interface StableDiffusionComponents {
  unet: UNet;
  vae: Vae;
  scheduler: Scheduler;
  textEncoder?: TextEncoder;
  /** The empty prompt's states `[1, seq, D]` for `denoise` without a text encoder. */
  unconditionalEmbedding?: Tensor<Float32Array>;
}

/** Pipeline-wide settings. */
export interface StableDiffusionSettings {
  /** How classifier-free guidance runs (default `'batched'`, as diffusers). */
  guidanceMode?: GuidanceMode;
  /**
   * Close the text encoder's sessions once a call's prompts are encoded (default false), so that
   * the denoising loop's peak does not include them; the next call reopens them, paying the text
   * encoder's load time again. For one-shot use (a CLI run, a job per process). Needs a text
   * encoder that can reopen: `fromPretrained` makes one; with components of your own, pass a
   * `ReopeningTextEncoder`.
   */
  releaseTextEncoder?: boolean;
  /** What `fromPretrained` measured (the pipeline's {@link LoadReport}). */
  loadReport?: LoadReport;
}

/** `onStep`'s argument: the step's numbers and an on-demand preview. */
export interface StepProgress extends StepReport {
  /**
   * Previews the scheduler's clean-latent estimate (or the latents) as 8-bit images, only when
   * called. `'fast'` (default): a quadratic latent→RGB map at latent resolution, fitted once per
   * pipeline against its VAE (see {@link LatentPreview}); `'full'`: one VAE decode at full size.
   */
  preview(quality?: 'fast' | 'full'): Promise<RgbImage[]>;
}

/** Options every task shares. */
export interface CommonOptions<O extends OutputType = OutputType> {
  numInferenceSteps?: number;
  /** A seed for latentkit's torch-compatible generator. Exclusive with `generator`. */
  seed?: number | bigint;
  generator?: Generator;
  /** DDIM's η (0 by default). */
  eta?: number;
  /** `'uint8'` (default) or `'float'` (float32 in [0, 1]). */
  outputType?: O;
  /** Called after each step; the run waits for a returned promise. */
  onStep?: (progress: StepProgress) => unknown;
  /** Cancels between steps with an `AbortError`. */
  signal?: AbortSignal;
  /** Overrides the pipeline's guidance mode for this call. */
  guidanceMode?: GuidanceMode;
  /** Receives per-stage times (see {@link StageTimings}). */
  timings?: StageTimings;
}

/** Options of prompt-driven tasks. */
export interface PromptOptions<O extends OutputType = OutputType> extends CommonOptions<O> {
  /** One prompt or a batch of prompts (non-empty strings). */
  prompt: string | readonly string[];
  /** One negative prompt for all, or one per prompt (default `''`). */
  negativePrompt?: string | readonly string[];
  /** Guidance weight w; guidance runs when w > 1 (default 7.5). */
  guidanceScale?: number;
  numImagesPerPrompt?: number;
  /** Precomputed `[B, seq, D]` states used instead of encoding `prompt` (diffusers' `prompt_embeds`). */
  promptEmbeds?: Tensor<Float32Array>;
  negativePromptEmbeds?: Tensor<Float32Array>;
}

export interface TextToImageOptions<O extends OutputType = OutputType> extends PromptOptions<O> {
  /** Default: the UNet's sample size × the VAE's scale factor. */
  width?: number;
  height?: number;
  /** Starting noise `[B·n, C, h, w]` instead of drawing it (scaled by the scheduler's initial sigma). */
  latents?: Tensor<Float32Array>;
}

export interface ImageToImageOptions<O extends OutputType = OutputType> extends PromptOptions<O> {
  image: ImageInput;
  /** How much to change the image, in (0, 1] (default 0.8). */
  strength?: number;
}

export interface InpaintOptions<O extends OutputType = OutputType> extends PromptOptions<O> {
  image: ImageInput;
  /** White (≥ 0.5) repaints, black keeps; the image's size. */
  mask: ImageInput;
  /** Default 1: start from pure noise in the masked region. */
  strength?: number;
}

export interface DenoiseOptions<O extends OutputType = OutputType> extends CommonOptions<O> {
  image: ImageInput;
  /** How much noise to add and remove, in (0, 1] (default 0.3). */
  strength?: number;
}

/** What every task returns. */
export interface PipelineResult<O extends OutputType = 'uint8'> {
  images: O extends 'float' ? FloatRgbImage[] : RgbImage[];
  /** The final UNet-scale latents `[B·n, C, h, w]`. */
  latents: Tensor<Float32Array>;
}
