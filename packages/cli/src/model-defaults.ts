/**
 * The generation defaults a model folder recommends, read from the `latentkit` key of its
 * `model_index.json` (diffusers ignores keys that are not `[library, class]` slots):
 *
 * ```json
 * "latentkit": { "defaults": { "scheduler": "DDIMScheduler", "num_inference_steps": 20, "guidance_scale": 5 } }
 * ```
 *
 * Every key is optional; without them diffusers' defaults apply (the model's own scheduler,
 * 50 steps, guidance 7.5).
 */
import { ModelLoadError, readModelIndex } from '@latentkit/core';

/** What a model folder recommends. */
export interface ModelDefaults {
  /** A scheduler class or alias (`'DDIMScheduler'`, `'euler'`). */
  readonly scheduler?: string;
  readonly numInferenceSteps?: number;
  readonly guidanceScale?: number;
}

/** diffusers' StableDiffusionPipeline defaults. */
export const DIFFUSERS_DEFAULTS = Object.freeze({ numInferenceSteps: 50, guidanceScale: 7.5 });

/**
 * Reads `latentkit.defaults` from `<folder>/model_index.json`; `{}` when absent. Malformed values
 * are a {@link ModelLoadError} naming the key.
 *
 * @example
 * ```ts
 * await readModelDefaults(modelPath); // { scheduler: 'DDIMScheduler', numInferenceSteps: 20, guidanceScale: 5 }
 * ```
 */
export async function readModelDefaults(folder: string): Promise<ModelDefaults> {
  const index = await readModelIndex(folder);
  const section = index.raw.latentkit as Record<string, unknown> | undefined;
  if (section === undefined) return {};
  const defaults = typeof section === 'object' && section !== null ? (section.defaults as Record<string, unknown> | undefined) : undefined;
  if (defaults === undefined) return {};
  if (typeof defaults !== 'object' || defaults === null || Array.isArray(defaults)) {
    throw new ModelLoadError({ path: index.file, reason: `$.latentkit.defaults must be an object, found ${JSON.stringify(defaults)}` });
  }
  const bad = (key: string, expected: string) =>
    new ModelLoadError({ path: index.file, reason: `$.latentkit.defaults.${key} must be ${expected}, found ${JSON.stringify(defaults[key])}` });
  const { scheduler, num_inference_steps: steps, guidance_scale: guidance } = defaults;
  if (scheduler !== undefined && (typeof scheduler !== 'string' || scheduler.length === 0)) throw bad('scheduler', 'a scheduler name');
  if (steps !== undefined && !(typeof steps === 'number' && Number.isInteger(steps) && steps >= 1)) throw bad('num_inference_steps', 'a positive integer');
  if (guidance !== undefined && !(typeof guidance === 'number' && Number.isFinite(guidance) && guidance >= 0)) throw bad('guidance_scale', 'a number ≥ 0');
  return {
    ...(scheduler !== undefined ? { scheduler: scheduler as string } : {}),
    ...(steps !== undefined ? { numInferenceSteps: steps as number } : {}),
    ...(guidance !== undefined ? { guidanceScale: guidance as number } : {}),
  };
}
