/**
 * What every reference generation the pipeline tests compare against records (diffusers' own run
 * on the same weights, saved as JSON): the call's arguments and what came out at each stage.
 */
export interface GenerationReference {
  prompt: string;
  negative_prompt: string;
  guidance_scale: number;
  num_inference_steps: number;
  height: number;
  width: number;
  timesteps: number[];
  prompt_embeds: number[];
  final_latents: number[];
  image: number[];
}
