/**
 * What `latentkit inspect` reports: a model folder's components described by their config
 * metadata alone (no weights are loaded), and whether they fit, from `@latentkit/pipeline`'s
 * compatibility check.
 */
import {
  readModelFolder,
  type ComponentFile,
  type FolderComponent,
  type PredictionType,
} from '@latentkit/core';
import { checkCompatibility, type ComponentsToCheck } from '@latentkit/pipeline';

/** The role a slot plays, from its name in `model_index.json`. */
export type ComponentRole = 'unet' | 'vae' | 'text-encoder' | 'tokenizer' | 'scheduler' | 'other';

/** One component as declared on disk. */
export interface ComponentDescription {
  readonly slot: string;
  readonly role: ComponentRole;
  /** `[library, class]` from `model_index.json`. */
  readonly library: string | null;
  readonly className: string | null;
  /** `_class_name` of the component's config, when it has one (e.g. `UNet2DConditionModel`). */
  readonly configClassName?: string;
  /** The config file read, relative to the model folder. */
  readonly configFile?: string;
  readonly files: readonly ComponentFile[];
  readonly bytes: number;
  /** Declared dimensions, in the config's own snake_case keys (plus derived `vae_scale_factor`). */
  readonly dimensions: Readonly<Record<string, number | string | null>>;
}

/** One problem the compatibility check found. */
export interface CompatibilityProblem {
  readonly component: string;
  readonly field: string;
  readonly expected: unknown;
  readonly actual: unknown;
  readonly message: string;
}

/** The check of one text-encoder pairing (a folder may ship several, e.g. `text_encoder_multilingual`). */
export interface CompatibilityVerdict {
  /** The text-encoder slots checked together (SDXL's `text_encoder_2` joins `text_encoder`). */
  readonly textEncoders: readonly string[];
  readonly tokenizer?: string;
  readonly compatible: boolean;
  readonly problems: readonly CompatibilityProblem[];
}

/** The whole report. */
export interface ModelDescription {
  readonly path: string;
  /** `_class_name` of `model_index.json`. */
  readonly pipelineClassName: string | null;
  readonly diffusersVersion?: string;
  readonly components: readonly ComponentDescription[];
  /** Slots listed as `[null, null]` (e.g. `safety_checker`). */
  readonly emptySlots: readonly string[];
  readonly bytes: number;
  /** The default image side: the UNet's `sample_size` × the VAE's scale factor, when both are declared. */
  readonly defaultImageSize?: number;
  readonly verdicts: readonly CompatibilityVerdict[];
  /** Every verdict compatible. */
  readonly compatible: boolean;
  /**
   * The CLI commands the parts can run (`generate`, `img2img`, `inpaint`, `denoise`): an inpainting
   * UNet (2·latent + 1 input channels) runs only `inpaint`; image commands need `vae_encoder`;
   * prompt commands need a text encoder.
   */
  readonly tasks: readonly string[];
  /** Why a command is not in {@link tasks}, by command. */
  readonly unsupported: Readonly<Record<string, string>>;
  /** Declared values that are missing or malformed, so a check could not run. */
  readonly notes: readonly string[];
}

function roleOf(slot: string): ComponentRole {
  if (slot === 'unet' || slot === 'transformer') return 'unet';
  if (slot === 'vae' || slot.startsWith('vae_')) return 'vae';
  if (slot.startsWith('text_encoder')) return 'text-encoder';
  if (slot.startsWith('tokenizer')) return 'tokenizer';
  if (slot === 'scheduler') return 'scheduler';
  return 'other';
}

const integer = (value: unknown): number | null => (typeof value === 'number' && Number.isInteger(value) ? value : null);
const number = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);
const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/** The declared dimensions of a component, by role. */
function dimensionsOf(role: ComponentRole, config: Readonly<Record<string, unknown>>): Record<string, number | string | null> {
  switch (role) {
    case 'unet':
      return {
        in_channels: integer(config.in_channels),
        out_channels: integer(config.out_channels),
        cross_attention_dim: integer(config.cross_attention_dim),
        sample_size: integer(config.sample_size),
      };
    case 'vae': {
      const blocks = Array.isArray(config.block_out_channels) ? config.block_out_channels.length : null;
      return {
        latent_channels: integer(config.latent_channels),
        // diffusers: vae_scale_factor = 2 ** (len(block_out_channels) - 1).
        vae_scale_factor: blocks === null ? null : 2 ** (blocks - 1),
        scaling_factor: number(config.scaling_factor),
      };
    }
    case 'text-encoder': {
      // AltDiffusion's RobertaSeriesModelWithTransformation projects its states to project_dim
      // (1024 → 768): that, not hidden_size, is the width the UNet sees.
      const projectDim = integer(config.project_dim);
      return {
        hidden_size: integer(config.hidden_size),
        ...(projectDim !== null ? { project_dim: projectDim } : {}),
        max_position_embeddings: integer(config.max_position_embeddings),
      };
    }
    case 'tokenizer':
      return { model_max_length: integer(config.model_max_length) };
    case 'scheduler':
      // diffusers' schedulers default to epsilon prediction when the config does not say.
      return { prediction_type: text(config.prediction_type) ?? 'epsilon', num_train_timesteps: integer(config.num_train_timesteps) };
    default:
      return {};
  }
}

function describeComponent(modelPath: string, component: FolderComponent): ComponentDescription {
  const role = roleOf(component.entry.slot);
  const config = component.config ?? {};
  const configClassName = text(config._class_name) ?? undefined;
  return {
    slot: component.entry.slot,
    role,
    library: component.entry.library,
    className: component.entry.className,
    ...(configClassName ? { configClassName } : {}),
    ...(component.configFile ? { configFile: component.configFile.slice(modelPath.length + 1) } : {}),
    files: component.files,
    bytes: component.files.reduce((sum, file) => sum + file.bytes, 0),
    dimensions: dimensionsOf(role, config),
  };
}

/** Text encoders that are used together: SDXL's `text_encoder_2` with `text_encoder`; others alone. */
function encoderGroups(encoders: readonly ComponentDescription[]): ComponentDescription[][] {
  const primary = encoders.filter((e) => e.slot === 'text_encoder' || /^text_encoder_\d+$/.test(e.slot));
  const alternatives = encoders.filter((e) => !primary.includes(e)).map((e) => [e]);
  return primary.length ? [primary, ...alternatives] : alternatives;
}

/**
 * Reads a model folder and describes it, with the compatibility verdict.
 *
 * @example
 * ```ts
 * const description = await describeModelFolder('../shared/reference/tiny-sd/onnx');
 * description.compatible; // true
 * description.components.find((c) => c.slot === 'unet')?.dimensions.cross_attention_dim; // 32
 * ```
 */
export async function describeModelFolder(folder: string): Promise<ModelDescription> {
  const model = await readModelFolder(folder);
  const components = [...model.components.values()].map((c) => describeComponent(model.path, c));
  const notes: string[] = [];
  const find = (role: ComponentRole) => components.filter((c) => c.role === role);
  const need = (component: ComponentDescription, key: string): number | undefined => {
    const value = component.dimensions[key];
    if (typeof value === 'number') return value;
    notes.push(`${component.configFile ?? component.slot}: ${key} is missing or not a number, so the checks that need it were skipped`);
    return undefined;
  };

  const unetComponent = find('unet')[0];
  const vaeComponent = find('vae').find((c) => c.slot === 'vae_decoder') ?? find('vae')[0];
  const schedulerComponent = find('scheduler')[0];
  const base: ComponentsToCheck = {};
  if (unetComponent) {
    const inChannels = need(unetComponent, 'in_channels');
    const crossAttentionDim = need(unetComponent, 'cross_attention_dim');
    const outChannels = unetComponent.dimensions.out_channels;
    if (inChannels !== undefined && crossAttentionDim !== undefined) {
      Object.assign(base, { unet: { inChannels, crossAttentionDim, ...(typeof outChannels === 'number' ? { outChannels } : {}) } });
    }
  }
  if (vaeComponent) {
    const latentChannels = need(vaeComponent, 'latent_channels');
    const scaleFactor = need(vaeComponent, 'vae_scale_factor');
    if (latentChannels !== undefined && scaleFactor !== undefined) Object.assign(base, { vae: { latentChannels, scaleFactor } });
  }
  if (schedulerComponent) {
    Object.assign(base, {
      scheduler: { className: schedulerComponent.configClassName ?? schedulerComponent.className ?? undefined, predictionType: schedulerComponent.dimensions.prediction_type as PredictionType },
    });
  }

  const tokenizers = find('tokenizer');
  const verdicts: CompatibilityVerdict[] = [];
  for (const group of encoderGroups(find('text-encoder'))) {
    const suffix = group[0]!.slot.slice('text_encoder'.length);
    const tokenizer = tokenizers.find((t) => t.slot === `tokenizer${/^_\d+$/.test(suffix) ? '' : suffix}`);
    const textEncoders = group.flatMap((encoder) => {
      const hiddenSize = need(encoder, encoder.dimensions.project_dim !== undefined ? 'project_dim' : 'hidden_size');
      const maxLength = encoder.dimensions.max_position_embeddings;
      return hiddenSize === undefined ? [] : [{ name: encoder.slot, hiddenSize, ...(typeof maxLength === 'number' ? { maxLength } : {}) }];
    });
    const tokenizerLength = tokenizer?.dimensions.model_max_length;
    const problems = checkCompatibility({
      ...base,
      ...(textEncoders.length === group.length ? { textEncoders } : {}),
      ...(tokenizer && typeof tokenizerLength === 'number' ? { tokenizer: { name: tokenizer.slot, maxLength: tokenizerLength } } : {}),
    });
    verdicts.push({
      textEncoders: group.map((e) => e.slot),
      ...(tokenizer ? { tokenizer: tokenizer.slot } : {}),
      compatible: problems.length === 0,
      problems: problems.map(({ component, field, expected, actual, message }) => ({ component, field, expected, actual, message })),
    });
  }
  if (verdicts.length === 0) {
    const problems = checkCompatibility(base);
    verdicts.push({ textEncoders: [], compatible: problems.length === 0, problems: problems.map(({ component, field, expected, actual, message }) => ({ component, field, expected, actual, message })) });
  }

  const version = model.index.raw._diffusers_version;
  const sampleSize = unetComponent?.dimensions.sample_size;
  const scaleFactor = vaeComponent?.dimensions.vae_scale_factor;
  return {
    path: model.path,
    pipelineClassName: model.index.className,
    ...(typeof version === 'string' ? { diffusersVersion: version } : {}),
    components,
    emptySlots: model.index.components.filter((c) => c.library === null && c.className === null).map((c) => c.slot),
    bytes: components.reduce((sum, c) => sum + c.bytes, 0),
    ...(typeof sampleSize === 'number' && typeof scaleFactor === 'number' ? { defaultImageSize: sampleSize * scaleFactor } : {}),
    verdicts,
    compatible: verdicts.every((v) => v.compatible),
    ...supportedTasks(unetComponent, vaeComponent, components),
    notes: [...new Set(notes)],
  };
}

/** Which commands the parts can run, and why the others cannot. */
function supportedTasks(
  unet: ComponentDescription | undefined,
  vae: ComponentDescription | undefined,
  components: readonly ComponentDescription[],
): { tasks: string[]; unsupported: Record<string, string> } {
  const unsupported: Record<string, string> = {};
  const inChannels = unet?.dimensions.in_channels;
  const latent = vae?.dimensions.latent_channels;
  const inpaintingUNet = typeof inChannels === 'number' && typeof latent === 'number' && inChannels === 2 * latent + 1;
  if (inpaintingUNet) {
    const why = `the UNet is an inpainting UNet (${inChannels} = ${latent} + ${latent} + 1 input channels): it needs an image and a mask`;
    for (const task of ['generate', 'img2img', 'denoise']) unsupported[task] = why;
  }
  if (!components.some((c) => c.slot === 'vae_encoder')) {
    for (const task of ['img2img', 'inpaint', 'denoise']) unsupported[task] ??= 'the folder has no vae_encoder to encode an input image';
  }
  if (!components.some((c) => c.role === 'text-encoder')) {
    for (const task of ['generate', 'img2img', 'inpaint']) unsupported[task] ??= 'the folder has no text encoder for a prompt';
  }
  if (!unet) for (const task of ['generate', 'img2img', 'inpaint', 'denoise']) unsupported[task] ??= 'the folder has no unet';
  return { tasks: ['generate', 'img2img', 'inpaint', 'denoise'].filter((task) => !(task in unsupported)), unsupported };
}
