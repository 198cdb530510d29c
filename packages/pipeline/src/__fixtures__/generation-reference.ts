import type { TextToImageOptions } from '../index';

/**
 * What every reference generation the pipeline tests compare against records (diffusers' own run
 * on the same weights, saved as JSON) about the call: its arguments, under their snake_case names,
 * and the timesteps it visited. Each test's reference adds its outputs in the form its file stores them.
 */
export type GenerationReference = Record<'prompt' | 'negative_prompt', string> &
  Record<'guidance_scale' | 'num_inference_steps' | 'height' | 'width', number> & { timesteps: number[] };

/**
 * The `textToImage` options of the reference's call (prompts, guidance, steps, size); the seed is
 * the caller's, since the references name it differently.
 */
export function referenceCall(reference: GenerationReference): Pick<TextToImageOptions, 'prompt' | 'negativePrompt' | 'guidanceScale' | 'numInferenceSteps' | 'width' | 'height'> {
  return {
    prompt: reference.prompt,
    negativePrompt: reference.negative_prompt,
    guidanceScale: reference.guidance_scale,
    numInferenceSteps: reference.num_inference_steps,
    width: reference.width,
    height: reference.height,
  };
}
