/**
 * What `latentkit inspect` reports: a model folder's components described by what their configs
 * and ONNX graphs declare (no weights are read, no onnxruntime session is opened), and whether
 * they fit, from the compatibility check in `@latentkit/core`. Nothing imported here loads
 * onnxruntime, so `inspect` starts at once.
 */
import { checkCompatibility, readModelFolder, type ComponentFile, type FolderComponent } from '@latentkit/core';
import { componentRole, componentsToCheck, declaredDimensions, type ComponentRole, type DeclaredDimensions, type DimensionSource } from '@latentkit/onnx';

export type { ComponentRole, DimensionSource };

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
  /** Where each declared value was read: `'config'` or `'graph'` (the part's `model.onnx`). */
  readonly sources: Readonly<Record<string, DimensionSource>>;
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
   * prompt commands need a text encoder; none when the parts do not fit (every command would be
   * refused at load).
   */
  readonly tasks: readonly string[];
  /** Why a command is not in {@link tasks}, by command. */
  readonly unsupported: Readonly<Record<string, string>>;
  /** Declared values that are missing or malformed, so a check could not run. */
  readonly notes: readonly string[];
  /** Parts whose config and graph disagree (each naming both values); any makes the folder incompatible. */
  readonly conflicts: readonly string[];
}

function describeComponent(modelPath: string, component: FolderComponent, declared: DeclaredDimensions): ComponentDescription {
  const config = component.config ?? {};
  const configClassName = typeof config._class_name === 'string' ? config._class_name : undefined;
  return {
    slot: component.entry.slot,
    role: componentRole(component.entry.slot),
    library: component.entry.library,
    className: component.entry.className,
    ...(configClassName ? { configClassName } : {}),
    ...(component.configFile ? { configFile: component.configFile.slice(modelPath.length + 1) } : {}),
    files: component.files,
    bytes: component.files.reduce((sum, file) => sum + file.bytes, 0),
    dimensions: declared.values,
    sources: declared.sources,
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
  const declared = new Map([...model.components.values()].map((c) => [c.entry.slot, declaredDimensions(c, { readGraph: 'always' })]));
  const components = [...model.components.values()].map((c) => describeComponent(model.path, c, declared.get(c.entry.slot)!));
  const find = (role: ComponentRole) => components.filter((c) => c.role === role);
  const unet = find('unet')[0]?.slot;
  const vae = (find('vae').find((c) => c.slot === 'vae_decoder') ?? find('vae')[0])?.slot;
  const scheduler = find('scheduler')[0]?.slot;
  const tokenizers = find('tokenizer');
  const notes: string[] = [];
  const conflicts: string[] = [];
  const verdictOf = (textEncoders: string[], tokenizer: string | undefined): CompatibilityVerdict => {
    const check = componentsToCheck(model, { unet, vae, scheduler, textEncoders, tokenizer }, (slot) => declared.get(slot));
    notes.push(...check.notes);
    conflicts.push(...check.conflicts);
    const problems = checkCompatibility(check.components);
    return {
      textEncoders,
      ...(tokenizer ? { tokenizer } : {}),
      compatible: problems.length === 0,
      problems: problems.map(({ component, field, expected, actual, message }) => ({ component, field, expected, actual, message })),
    };
  };
  const verdicts: CompatibilityVerdict[] = [];
  for (const group of encoderGroups(find('text-encoder'))) {
    const suffix = group[0]!.slot.slice('text_encoder'.length);
    const tokenizer = tokenizers.find((t) => t.slot === `tokenizer${/^_\d+$/.test(suffix) ? '' : suffix}`);
    verdicts.push(verdictOf(group.map((e) => e.slot), tokenizer?.slot));
  }
  if (verdicts.length === 0) verdicts.push(verdictOf([], undefined));

  const version = model.index.raw._diffusers_version;
  const sampleSize = unet ? declared.get(unet)?.values.sample_size : undefined;
  const scaleFactor = vae ? declared.get(vae)?.values.vae_scale_factor : undefined;
  const uniqueConflicts = [...new Set(conflicts)];
  return {
    path: model.path,
    pipelineClassName: model.index.className,
    ...(typeof version === 'string' ? { diffusersVersion: version } : {}),
    components,
    emptySlots: model.index.components.filter((c) => c.library === null && c.className === null).map((c) => c.slot),
    bytes: components.reduce((sum, c) => sum + c.bytes, 0),
    ...(typeof sampleSize === 'number' && typeof scaleFactor === 'number' ? { defaultImageSize: sampleSize * scaleFactor } : {}),
    verdicts,
    compatible: uniqueConflicts.length === 0 && verdicts.every((v) => v.compatible),
    ...supportedTasks(
      find('unet')[0],
      find('vae').find((c) => c.slot === 'vae_decoder') ?? find('vae')[0],
      components,
      uniqueConflicts.length === 0 && verdicts.some((v) => v.compatible),
    ),
    notes: [...new Set(notes)],
    conflicts: uniqueConflicts,
  };
}

/**
 * Which commands the parts can run, and why the others cannot. `fits`: no config contradicts its
 * graph and at least one text encoder (or the folder without one) passes the compatibility
 * check; otherwise every command would be refused at load, so none is listed.
 */
function supportedTasks(
  unet: ComponentDescription | undefined,
  vae: ComponentDescription | undefined,
  components: readonly ComponentDescription[],
  fits: boolean,
): { tasks: string[]; unsupported: Record<string, string> } {
  const unsupported: Record<string, string> = {};
  if (!fits) {
    for (const task of ['generate', 'img2img', 'inpaint', 'denoise']) unsupported[task] = 'the parts do not fit, see above';
    return { tasks: [], unsupported };
  }
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
