/**
 * @latentkit/pipeline — the orchestrator: checks that the parts fit, then runs Stable Diffusion
 * (text-to-image, image-to-image, inpainting, denoising).
 *
 * @packageDocumentation
 */
export * from './compatibility';
export { StableDiffusionPipeline } from './stable-diffusion-pipeline';
export {
  type StableDiffusionComponents,
  type StableDiffusionSettings,
  type CommonOptions,
  type PromptOptions,
  type TextToImageOptions,
  type ImageToImageOptions,
  type InpaintOptions,
  type DenoiseOptions,
  type PipelineResult,
  type StepProgress,
} from './pipeline-options';
export { loadComponents, defaultModelPath, readUnconditionalEmbedding, writeUnconditionalEmbedding, UNCONDITIONAL_EMBEDDING_FILE, type PipelineLoadOptions } from './load-components';
export { chooseScheduler, cloneScheduler, type SchedulerChoice } from './scheduler-choice';
/** The scheduler names `options.scheduler` takes: diffusers class names and sampler aliases. */
export { SCHEDULER_CLASSES, SCHEDULER_ALIASES } from '@latentkit/schedulers';
export { predictGuidedNoise, combineGuidance, type GuidanceMode, type GuidedPrediction } from './guidance';
export { runDenoisingLoop, concatChannels, type DenoisingRun, type StepReport, type InpaintingConditioning, type KnownRegionBlending } from './denoising-loop';
export { assertImage, imageToTensor, maskToTensor, tensorToImages, type RgbImage, type FloatRgbImage, type ImageInput, type OutputType } from './image';
export { StageTimings, type Stage } from './stage-timings';
export { LoadRecorder, type LoadReport, type PartLoadReport } from './load-report';
export { ReopeningTextEncoder } from './reopening-text-encoder';
export { assertBatchFits, memoryBudget, BYTES_PER_OUTPUT_PIXEL } from './memory-estimate';
export { assertFinite, firstNonFinite } from './finite-check';
export { LatentPreview } from './latent-preview';
export type { SessionOptions, ExecutionProvider, GraphOptimizationLevel, LoadStep } from '@latentkit/core';
