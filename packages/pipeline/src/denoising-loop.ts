/**
 * The denoising loop shared by every task: scale the input, predict the noise (with or without
 * guidance), step the scheduler, and for inpainting either feed the mask to a 9-channel UNet or
 * paste the known region back after each step — in the order diffusers 0.25 does, so that the
 * same generator gives the same numbers.
 */
import {
  createTensor,
  throwIfAborted,
  type Generator,
  type Scheduler,
  type Tensor,
  type UNet,
} from '@latentkit/core';
import { assertFinite } from './finite-check';
import { predictGuidedNoise, type GuidanceMode } from './guidance';
import type { StageTimings } from './stage-timings';

/** What `onStep` receives after each scheduler step. */
export interface StepReport {
  /** 0-based index of the step just taken. */
  readonly step: number;
  /** How many steps this run takes. */
  readonly numSteps: number;
  readonly timestep: number;
  /** The latents after this step, `[batch, C, h, w]` (the UNet's scale). Read-only: copy to keep. */
  readonly latents: Tensor<Float32Array>;
  /** The scheduler's estimate of the clean latents, where it computes one. */
  readonly predictedOriginal?: Tensor<Float32Array>;
}

/** The inputs of a 9-channel inpainting UNet beside the latents. */
export interface InpaintingConditioning {
  /** `[B, 1, h, w]` of 0 (keep) and 1 (repaint). */
  readonly mask: Tensor<Float32Array>;
  /** `[B, C, h, w]` scaled latents of the image with the repainted region blanked. */
  readonly maskedImageLatents: Tensor<Float32Array>;
}

/** For a plain UNet: the known region is re-noised to the next timestep and pasted back after each step. */
export interface KnownRegionBlending {
  readonly mask: Tensor<Float32Array>;
  /** `[B, C, h, w]` scaled latents of the original image. */
  readonly imageLatents: Tensor<Float32Array>;
  /** The noise that started the run (reused at every step, as diffusers does). */
  readonly noise: Tensor<Float32Array>;
}

export interface DenoisingRun {
  unet: UNet;
  scheduler: Scheduler;
  timesteps: readonly number[];
  latents: Tensor<Float32Array>;
  embeddings: Tensor<Float32Array>;
  guidance: boolean;
  guidanceScale: number;
  guidanceMode: GuidanceMode;
  generator: Generator;
  eta?: number;
  inpainting?: InpaintingConditioning;
  blending?: KnownRegionBlending;
  onStep?: (report: StepReport) => unknown;
  signal?: AbortSignal;
  timings?: StageTimings;
}

/**
 * Runs the loop and returns the final latents.
 *
 * @example
 * ```ts
 * const latents = await runDenoisingLoop({ unet, scheduler, timesteps: scheduler.timesteps, latents: start, embeddings, guidance: true, guidanceScale: 7.5, guidanceMode: 'batched', generator });
 * ```
 */
export async function runDenoisingLoop(run: DenoisingRun): Promise<Tensor<Float32Array>> {
  const { unet, scheduler, timesteps, embeddings, generator, signal, timings } = run;
  let latents = run.latents;
  const schedulerName = (scheduler as { className?: string }).className ?? 'the scheduler';
  assertFinite(latents, 'starting latents', undefined, 'the input image or the noise holds it: check the image and the latents passed in');
  assertFinite(embeddings, "text encoder's output", undefined, 'the prompt embeddings hold it: check promptEmbeds or the text encoder (fp16 overflow?)');
  for (let i = 0; i < timesteps.length; i++) {
    throwIfAborted(signal);
    const t = timesteps[i]!;
    const glueStart = performance.now();
    let scaled = scheduler.scaleModelInput(latents, t);
    if (run.inpainting) scaled = concatChannels([scaled, run.inpainting.mask, run.inpainting.maskedImageLatents]);
    timings?.add('scheduler', performance.now() - glueStart);

    const noise = await predictGuidedNoise({
      unet,
      modelInput: scaled,
      timestep: t,
      embeddings,
      guidanceScale: run.guidanceScale,
      guidance: run.guidance,
      mode: run.guidanceMode,
      signal,
      onUNetCall: timings ? (ms) => timings.add('unet', ms) : undefined,
      onGuidance: timings ? (ms) => timings.add('guidance', ms) : undefined,
    });

    const where = `step ${i + 1}/${timesteps.length} (t=${t})`;
    assertFinite(noise, 'model output', where, 'the UNet produced it from finite latents and prompt states: fp16 overflow? run the UNet in float32, or check the model file');
    const stepStart = performance.now();
    const output = scheduler.step(noise, t, latents, { generator, ...(run.eta === undefined ? {} : { eta: run.eta }) });
    latents = output.prevSample;
    assertFinite(latents, `${schedulerName}'s step`, where, `it produced it from a finite model output and sample: check the scheduler config (betas, prediction_type, timestep_spacing) and eta`);
    if (run.blending) latents = pasteKnownRegion(scheduler, run.blending, latents, timesteps[i + 1]);
    timings?.add('scheduler', performance.now() - stepStart);

    if (run.onStep) {
      await run.onStep({ step: i, numSteps: timesteps.length, timestep: t, latents, predictedOriginal: output.predOriginalSample });
    }
  }
  throwIfAborted(signal);
  return latents;
}

/**
 * `(1 − m) · x₀⁽ᵗ⁻¹⁾ + m · x`: keeps the known region on the image's own noisy trajectory
 * (RePaint-style blending as in diffusers' inpaint pipeline for 4-channel UNets). After the last
 * step the clean image latents are pasted.
 */
function pasteKnownRegion(scheduler: Scheduler, blending: KnownRegionBlending, latents: Tensor<Float32Array>, nextTimestep: number | undefined): Tensor<Float32Array> {
  const { mask, imageLatents, noise } = blending;
  const known = nextTimestep === undefined ? imageLatents : scheduler.addNoise(imageLatents, noise, [nextTimestep]);
  const [batch = 0, channels = 0, height = 0, width = 0] = latents.dims;
  const plane = height * width;
  const out = new Float32Array(latents.data.length);
  for (let b = 0; b < batch; b++) {
    const m = mask.data.subarray(b * plane, (b + 1) * plane);
    for (let c = 0; c < channels; c++) {
      const offset = (b * channels + c) * plane;
      for (let p = 0; p < plane; p++) {
        const keep = m[p]!;
        out[offset + p] = Math.fround((1 - keep) * known.data[offset + p]!) + Math.fround(keep * latents.data[offset + p]!);
      }
    }
  }
  return createTensor(latents.dims, out);
}

/** Concatenates `[B, Cᵢ, h, w]` tensors along the channel axis. */
export function concatChannels(tensors: readonly Tensor<Float32Array>[]): Tensor<Float32Array> {
  const [batch = 0, , height = 0, width = 0] = tensors[0]!.dims;
  const plane = height * width;
  const channels = tensors.reduce((sum, t) => sum + t.dims[1]!, 0);
  const out = new Float32Array(batch * channels * plane);
  for (let b = 0; b < batch; b++) {
    let offset = b * channels * plane;
    for (const t of tensors) {
      const size = t.dims[1]! * plane;
      out.set(t.data.subarray(b * size, (b + 1) * size), offset);
      offset += size;
    }
  }
  return createTensor([batch, channels, height, width], out);
}
