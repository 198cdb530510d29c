/**
 * The orchestrator's compatibility check: before any tensor is computed, do the parts fit?
 *
 * Components are described by their declared metadata alone (from configs and the ONNX models'
 * input/output shapes), so the check runs without loading weights. It returns every problem at
 * once; {@link assertCompatible} throws them together as one {@link IncompatibleComponentsError}.
 * It lives in core, which loads no onnxruntime, so that `latentkit inspect` and a pipeline's
 * pre-load check run it without opening a session; `@latentkit/pipeline` re-exports it.
 */
import { ComponentMismatchError, IncompatibleComponentsError } from './errors';
import type { TextEncoder } from './text-encoder';
import type { Tokenizer } from './tokenizer';
import type { PredictionType, UNet } from './unet';
import type { Vae } from './vae';

/** What the check needs to know of a text encoder. */
export type TextEncoderDescription = Pick<TextEncoder, 'hiddenSize'> & Partial<Pick<TextEncoder, 'name' | 'maxLength'>>;
/** What the check needs to know of a UNet. */
export type UNetDescription = Pick<UNet, 'inChannels' | 'crossAttentionDim'> &
  Partial<Pick<UNet, 'outChannels' | 'sampleSize' | 'predictionType'>>;
/** What the check needs to know of a VAE. */
export type VaeDescription = Pick<Vae, 'latentChannels' | 'scaleFactor'>;
/** What the check needs to know of a scheduler. */
export interface SchedulerDescription {
  readonly className?: string;
  readonly predictionType?: PredictionType;
}
/** What the check needs to know of a tokenizer. */
export type TokenizerDescription = Pick<Tokenizer, 'maxLength'> & { readonly name?: string };

/** The task a pipeline is about to run; some rules depend on it. */
export type PipelineTask = 'text-to-image' | 'image-to-image' | 'inpaint' | 'denoise';

/** The parts to check. Any may be absent; rules needing an absent part are skipped. */
export interface ComponentsToCheck {
  /** One encoder, or several whose outputs are concatenated on the width axis (as SDXL does). */
  textEncoders?: readonly TextEncoderDescription[];
  tokenizer?: TokenizerDescription;
  unet?: UNetDescription;
  vae?: VaeDescription;
  scheduler?: SchedulerDescription;
  /** The image size about to be generated or read. */
  image?: { readonly width: number; readonly height: number };
  task?: PipelineTask;
}

/**
 * Checks that the parts of a pipeline fit, and returns every problem found (empty when all fit).
 *
 * @example
 * ```ts
 * const problems = checkCompatibility({
 *   textEncoders: [{ name: 'xlm-r', hiddenSize: 1024 }],
 *   unet: { inChannels: 4, crossAttentionDim: 768 },
 * });
 * problems[0].message;
 * // "text encoder 'xlm-r' produces 1024-wide embeddings but the UNet's cross-attention expects 768: …"
 * ```
 */
export function checkCompatibility(components: ComponentsToCheck): ComponentMismatchError[] {
  return [
    ...checkEncoderWidth(components),
    ...checkTokenizerLength(components),
    ...checkLatentChannels(components),
    ...checkImageSize(components),
    ...checkPredictionType(components),
  ];
}

/** Like {@link checkCompatibility}, but throws all problems as one {@link IncompatibleComponentsError}. */
export function assertCompatible(components: ComponentsToCheck): void {
  const problems = checkCompatibility(components);
  if (problems.length > 0) throw new IncompatibleComponentsError(problems);
}

function encoderName(encoder: TextEncoderDescription, index: number): string {
  return encoder.name ?? `#${index + 1}`;
}

/** Cross-attention reads `[batch, tokens, D]`: only D must equal the UNet's `cross_attention_dim`. */
function checkEncoderWidth({ textEncoders, unet }: ComponentsToCheck): ComponentMismatchError[] {
  if (!unet || !textEncoders || textEncoders.length === 0) return [];
  const total = textEncoders.reduce((sum, e) => sum + e.hiddenSize, 0);
  if (total === unet.crossAttentionDim) return [];
  const expected = unet.crossAttentionDim;
  const hint =
    'the width must equal the UNet\'s cross_attention_dim, and the embeddings must live in the space the UNet was trained on: ' +
    `use a text encoder trained for this UNet, or add a projection (${total} → ${expected}) trained against the frozen UNet`;
  if (textEncoders.length === 1) {
    const name = encoderName(textEncoders[0]!, 0);
    return [
      new ComponentMismatchError({
        component: `text encoder '${name}'`,
        field: 'hiddenSize',
        expected,
        actual: total,
        hint,
        message: `text encoder '${name}' produces ${total}-wide embeddings but the UNet's cross-attention expects ${expected}: ${hint}`,
      }),
    ];
  }
  const parts = textEncoders.map((e, i) => `'${encoderName(e, i)}' ${e.hiddenSize}`).join(' + ');
  return [
    new ComponentMismatchError({
      component: 'text encoders',
      field: 'hiddenSize',
      expected,
      actual: total,
      hint,
      message: `text encoders ${parts} produce ${total}-wide embeddings together but the UNet's cross-attention expects ${expected}: ${hint}`,
    }),
  ];
}

/** A tokenizer longer than the encoder's position table would index past it. */
function checkTokenizerLength({ tokenizer, textEncoders }: ComponentsToCheck): ComponentMismatchError[] {
  if (!tokenizer || !textEncoders) return [];
  const problems: ComponentMismatchError[] = [];
  textEncoders.forEach((encoder, i) => {
    if (encoder.maxLength === undefined || tokenizer.maxLength <= encoder.maxLength) return;
    const name = encoderName(encoder, i);
    problems.push(
      new ComponentMismatchError({
        component: `tokenizer${tokenizer.name ? ` '${tokenizer.name}'` : ''}`,
        field: 'maxLength',
        expected: encoder.maxLength,
        actual: tokenizer.maxLength,
        hint: `set model_max_length to ${encoder.maxLength} in tokenizer_config.json, or use the tokenizer shipped with the encoder`,
        message:
          `the tokenizer makes ${tokenizer.maxLength}-token sequences but text encoder '${name}' has ${encoder.maxLength} positions: ` +
          `set model_max_length to ${encoder.maxLength} in tokenizer_config.json, or use the tokenizer shipped with the encoder`,
      }),
    );
  });
  return problems;
}

/**
 * The UNet reads latents: `in_channels` is the VAE's `latent_channels` for text-to-image, or
 * `2·latent + 1` for an inpainting UNet (noisy latent + masked-image latent + mask).
 */
function checkLatentChannels({ unet, vae, task }: ComponentsToCheck): ComponentMismatchError[] {
  if (!unet || !vae) return [];
  const latent = vae.latentChannels;
  const inpainting = 2 * latent + 1;
  const problems: ComponentMismatchError[] = [];
  if (unet.inChannels !== latent && unet.inChannels !== inpainting) {
    problems.push(
      new ComponentMismatchError({
        component: 'UNet',
        field: 'inChannels',
        expected: [latent, inpainting],
        actual: unet.inChannels,
        hint: 'use a VAE and UNet from the same model family',
        message:
          `the UNet takes ${unet.inChannels} input channels but the VAE makes ${latent}-channel latents: ` +
          `a UNet for this VAE takes ${latent} (text-to-image) or ${inpainting} = ${latent} + ${latent} + 1 (inpainting); ` +
          'use a VAE and UNet from the same model family',
      }),
    );
  } else if (unet.inChannels === inpainting && task !== undefined && task !== 'inpaint') {
    problems.push(
      new ComponentMismatchError({
        component: 'UNet',
        field: 'inChannels',
        expected: latent,
        actual: unet.inChannels,
        hint: 'call inpaint() with an image and a mask, or load a text-to-image UNet',
        message:
          `the UNet is an inpainting UNet (${inpainting} = ${latent} + ${latent} + 1 input channels) and cannot run ${task}: ` +
          'call inpaint() with an image and a mask, or load a text-to-image UNet',
      }),
    );
  }
  if (unet.outChannels !== undefined && unet.outChannels !== latent) {
    problems.push(
      new ComponentMismatchError({
        component: 'UNet',
        field: 'outChannels',
        expected: latent,
        actual: unet.outChannels,
        hint: 'use a VAE and UNet from the same model family',
        message: `the UNet predicts ${unet.outChannels} channels but the VAE's latents have ${latent}: use a VAE and UNet from the same model family`,
      }),
    );
  }
  return problems;
}

/** The VAE divides the image side by its scale factor; a side that does not divide has no latent. */
function checkImageSize({ image, vae }: ComponentsToCheck): ComponentMismatchError[] {
  if (!image || !vae) return [];
  const factor = vae.scaleFactor;
  const problems: ComponentMismatchError[] = [];
  for (const side of ['width', 'height'] as const) {
    const value = image[side];
    if (Number.isInteger(value) && value > 0 && value % factor === 0) continue;
    const below = Math.max(factor, Math.floor(value / factor) * factor);
    const above = Math.max(factor, Math.ceil(value / factor) * factor);
    const nearest = below === above ? `${below}` : `${below} or ${above}`;
    problems.push(
      new ComponentMismatchError({
        component: 'image',
        field: side,
        expected: `a positive multiple of ${factor}`,
        actual: value,
        hint: `use ${nearest}`,
        message: `image ${side} ${value} is not a positive multiple of the VAE's scale factor ${factor}: the nearest valid ${side}s are ${nearest}`,
      }),
    );
  }
  return problems;
}

/** A scheduler that expects ε from a UNet that predicts v (or the reverse) walks off the schedule. */
function checkPredictionType({ unet, scheduler }: ComponentsToCheck): ComponentMismatchError[] {
  if (!unet?.predictionType || !scheduler?.predictionType || unet.predictionType === scheduler.predictionType) return [];
  const name = scheduler.className ? `scheduler ${scheduler.className}` : 'the scheduler';
  return [
    new ComponentMismatchError({
      component: 'scheduler',
      field: 'predictionType',
      expected: unet.predictionType,
      actual: scheduler.predictionType,
      hint: `configure the scheduler with prediction_type "${unet.predictionType}" (schedulers built from the model's own scheduler_config.json get this right)`,
      message:
        `${name} expects the model to predict '${scheduler.predictionType}' but the UNet predicts '${unet.predictionType}': ` +
        `configure the scheduler with prediction_type "${unet.predictionType}" (schedulers built from the model's own scheduler_config.json get this right)`,
    }),
  ];
}
