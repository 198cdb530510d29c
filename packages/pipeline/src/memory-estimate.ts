/**
 * An upper bound on how many images one call may make. Every image of a call is held at once (the
 * latents through the loop, the decoded float32 pixels, the 8-bit result) and the UNet and the VAE
 * run on the whole batch, so memory grows linearly with the batch; a count such as 10 000 would
 * otherwise grow until the kernel kills the process.
 */
import * as os from 'node:os';
import { InvalidArgumentError } from '@latentkit/core';

/**
 * Bytes per output pixel of one image, all stages together. Measured on latentkit's CPU runs: a
 * 32×32 tiny-sd batch of 10 000 grew to 16.7 GB (1.6 KB per pixel); rounded up to 2 KiB. Real SD
 * models need more for their activations, so this bounds from below what a batch costs.
 */
export const BYTES_PER_OUTPUT_PIXEL = 2048;

/** The memory one call may plan for: half of the machine's (or the container's) memory. */
export function memoryBudget(): number {
  const constrained = typeof process.constrainedMemory === 'function' ? process.constrainedMemory() : 0;
  const total = constrained && constrained > 0 && constrained < os.totalmem() ? constrained : os.totalmem();
  return Math.floor(total / 2);
}

/**
 * Refuses a batch whose estimated memory exceeds the budget, naming the largest count that fits.
 *
 * @example
 * ```ts
 * assertBatchFits({ prompts: 1, imagesPerPrompt: 4, width: 512, height: 512 });
 * ```
 */
export function assertBatchFits(run: { prompts: number; imagesPerPrompt: number; width: number; height: number }, budget = memoryBudget()): void {
  const perImage = run.width * run.height * BYTES_PER_OUTPUT_PIXEL;
  const batch = run.prompts * run.imagesPerPrompt;
  if (batch * perImage <= budget) return;
  const fits = Math.max(0, Math.floor(budget / perImage / run.prompts));
  const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;
  throw new InvalidArgumentError({
    name: 'numImagesPerPrompt',
    expected: `at most ${fits} for ${run.prompts} prompt${run.prompts === 1 ? '' : 's'} at ${run.width}×${run.height} (about ${gib(perImage)} per image; this machine allows ${gib(budget)} per call)`,
    actual: run.imagesPerPrompt,
    hint: `${batch} images would need about ${gib(batch * perImage)}: make them in several calls`,
  });
}
