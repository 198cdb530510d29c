/**
 * Where `StableDiffusionPipeline.fromPretrained` spent its time: each part's load steps (the
 * onnxruntime sessions it opened, the UNet's graph split for native attention) with how long each
 * took and whether latentkit's cache served it. Parts load concurrently, but onnxruntime-node opens
 * sessions synchronously on the main thread, one at a time, and each step times only its own work
 * (a session from onnxruntime's create on), so the parts' times add up to about the whole load;
 * what is left is reading the folder, checking the parts and the awaits between steps.
 */
import type { LoadStep } from '@latentkit/core';

/** One part's load: its steps in order, and their sum. */
export interface PartLoadReport {
  /** Sum of the steps' times. */
  readonly milliseconds: number;
  readonly steps: readonly LoadStep[];
  /** How many steps each cache state served. */
  readonly cache: Readonly<Record<LoadStep['cache'], number>>;
}

/** A pipeline's load. */
export interface LoadReport {
  /** Wall-clock time of the whole load. */
  readonly milliseconds: number;
  /** By model slot: `unet`, `vae_decoder` (or `vae`), `text_encoder` (or `text_encoder_<name>`). */
  readonly parts: Readonly<Record<string, PartLoadReport>>;
}

/**
 * Collects load steps per part; `listener(part)` is the `onLoadStep` to give that part's loader.
 *
 * @example
 * ```ts
 * const recorder = new LoadRecorder();
 * await OnnxUNet.fromPretrained(folder, { sessionOptions: { onLoadStep: recorder.listener('unet') } });
 * recorder.report().parts.unet?.cache; // { hit: 33, fill: 0, skip: 0 } … (and the partition's step)
 * ```
 */
export class LoadRecorder {
  private readonly started = performance.now();
  private readonly steps = new Map<string, LoadStep[]>();

  /** A listener recording into `part`, and passing each step on to `next` (a caller's own). */
  listener(part: string, next?: (step: LoadStep) => void): (step: LoadStep) => void {
    const steps = this.steps.get(part) ?? [];
    this.steps.set(part, steps);
    return (step) => {
      steps.push(step);
      next?.(step);
    };
  }

  /** The report so far; its `milliseconds` run from the recorder's creation to now. */
  report(): LoadReport {
    const parts: Record<string, PartLoadReport> = {};
    for (const [part, steps] of this.steps) {
      const cache = { hit: 0, fill: 0, skip: 0 };
      for (const step of steps) cache[step.cache] += 1;
      parts[part] = { milliseconds: steps.reduce((sum, step) => sum + step.milliseconds, 0), steps: [...steps], cache };
    }
    return { milliseconds: performance.now() - this.started, parts };
  }
}
