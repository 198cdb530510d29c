/** The options of the generation commands (`generate`, `img2img`, `inpaint`, `denoise`). */
import type { OptionSpecs } from './argument-parser';

/** The four commands that run the pipeline. */
export type GenerationCommand = 'generate' | 'img2img' | 'inpaint' | 'denoise';

const MODEL_OPTIONS: OptionSpecs = {
  model: { type: 'string', short: 'm', valueName: '<folder>', description: 'model folder (diffusers ONNX layout); default: the bundled @latentkit/model-tiny' },
  textEncoder: { type: 'string', valueName: '<name>', description: "text encoder slot: 'multilingual' loads text_encoder_multilingual (default: text_encoder)" },
  scheduler: { type: 'string', valueName: '<name>', description: "scheduler class or alias ('ddim', 'euler', …; 'latentkit schedulers' lists all); default: the model's recommended, else its scheduler_config.json" },
  threads: { type: 'integer', min: 1, max: 1024, valueName: '<n>', description: 'CPU threads per ONNX session (default: onnxruntime’s choice)' },
  keepTextEncoder: {
    type: 'boolean',
    description: 'keep the text encoder open through the run (default: closed once the prompt is encoded, so the peak memory does not include it)',
  },
};

const SAMPLING_OPTIONS: OptionSpecs = {
  steps: { type: 'integer', short: 's', min: 1, valueName: '<n>', description: 'denoising steps (default: the model’s recommended, else 50); at most what its schedule can place' },
  seed: { type: 'integer', min: 0, max: Number.MAX_SAFE_INTEGER, valueName: '<n>', description: 'random seed (default: a random one, printed so you can repeat the image)' },
  out: { type: 'string', short: 'o', valueName: '<file>', description: 'output image: .png, .jpg/.jpeg or .webp, checked before generating (default out.png; with --count N: out-1.png … out-N.png)' },
  quiet: { type: 'boolean', short: 'q', description: 'no progress output' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

const PROMPT_OPTIONS: OptionSpecs = {
  negative: { type: 'string', valueName: '<text>', description: 'negative prompt: what the image should not show' },
  guidance: { type: 'number', short: 'g', min: 0, max: 100, valueName: '<scale>', description: 'classifier-free guidance scale (default: the model’s recommended, else 7.5; ≤ 1 turns guidance off)' },
  count: { type: 'integer', short: 'n', min: 1, max: 64, valueName: '<n>', description: 'images to generate from the prompt (default 1)' },
  longPrompts: { type: 'string', valueName: '<mode>', description: "prompts past the text encoder's 77 tokens: truncate (default; the cut words are named) or chunk (CLIP: 77-token chunks concatenated; needs a UNet with a dynamic text axis)" },
};

const SIZE_OPTIONS: OptionSpecs = {
  width: { type: 'integer', short: 'W', min: 1, max: 8192, valueName: '<px>', description: 'image width, a multiple of the model’s size multiple: VAE factor × 2^UNet down-sampling stages (default: the model’s)' },
  height: { type: 'integer', short: 'H', min: 1, max: 8192, valueName: '<px>', description: 'image height (default: the model’s)' },
};

const IMAGE_OPTIONS: OptionSpecs = {
  image: { type: 'string', short: 'i', valueName: '<file>', description: 'input image (PNG, JPEG, WebP, …); resized to --width/--height when given, else to the model’s size when it cannot run the image’s own' },
  resize: { type: 'string', valueName: '<mode>', description: 'how to resize the input: crop (cover, centre crop; default), fit (fit inside, fill with the edges) or stretch' },
};

const STRENGTH: OptionSpecs = {
  strength: { type: 'number', min: 0, max: 1, exclusiveMin: true, valueName: '<0..1>', description: 'how much to change the image: 1 ignores it, small values keep it' },
};

/**
 * Options by command, in the order `--help` lists them.
 *
 * @example
 * ```ts
 * parseArguments(argv, GENERATION_OPTIONS.generate, 'generate');
 * ```
 */
export const GENERATION_OPTIONS: Readonly<Record<GenerationCommand, OptionSpecs>> = {
  generate: {
    ...MODEL_OPTIONS,
    ...SIZE_OPTIONS,
    ...PROMPT_OPTIONS,
    ...SAMPLING_OPTIONS,
    attentionMaps: { type: 'string', valueName: '<dir>', description: 'also write one heatmap PNG per prompt token: where its cross-attention went (native attention only)' },
  },
  img2img: { ...IMAGE_OPTIONS, ...STRENGTH, ...MODEL_OPTIONS, ...SIZE_OPTIONS, ...PROMPT_OPTIONS, ...SAMPLING_OPTIONS },
  inpaint: {
    ...IMAGE_OPTIONS,
    mask: { type: 'string', valueName: '<file>', description: 'mask image: white = repaint, black = keep' },
    ...STRENGTH,
    ...MODEL_OPTIONS,
    ...SIZE_OPTIONS,
    ...PROMPT_OPTIONS,
    ...SAMPLING_OPTIONS,
  },
  denoise: { ...IMAGE_OPTIONS, ...STRENGTH, ...MODEL_OPTIONS, ...SIZE_OPTIONS, ...SAMPLING_OPTIONS },
};
