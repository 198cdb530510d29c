/**
 * What a model folder's parts declare about their sizes, from each part's config where it says,
 * else from its ONNX graph ({@link graphDimensions}), with where each value came from. This is
 * what `latentkit inspect` shows and what a pipeline checks before it opens any session, so that
 * a diffusers-converter folder (no `config.json` in its ONNX parts) is checked as fully as an
 * optimum one. Nothing here loads onnxruntime or reads a weight.
 */
import * as path from 'node:path';
import { existsSync } from 'node:fs';
import type { ComponentSource, ComponentsToCheck, ModelFolder, PredictionType } from '@latentkit/core';
import { readGraphDimensions, type GraphDimensions, type GraphRole } from './graph-dimensions';

/** The role a slot plays, from its name in `model_index.json`. */
export type ComponentRole = 'unet' | 'vae' | 'text-encoder' | 'tokenizer' | 'scheduler' | 'other';

/** Where a declared value was read: the part's config file, or its ONNX graph. */
export type DimensionSource = 'config' | 'graph';

/** A part's declared sizes, in its config's own snake_case keys (plus `vae_scale_factor`). */
export interface DeclaredDimensions {
  /** `null` where neither the config nor the graph says. */
  readonly values: Readonly<Record<string, number | string | null>>;
  /** Where each non-null value came from. */
  readonly sources: Readonly<Record<string, DimensionSource>>;
  /** Places where config and graph disagree, each naming both values. */
  readonly conflicts: readonly string[];
}

/**
 * The role of a `model_index.json` slot.
 *
 * @example
 * ```ts
 * componentRole('text_encoder_2'); // 'text-encoder'
 * ```
 */
export function componentRole(slot: string): ComponentRole {
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

/** What the config says, by role. */
function configDimensions(role: ComponentRole, config: Readonly<Record<string, unknown>>): Record<string, number | string | null> {
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
    case 'tokenizer': {
      // transformers writes int(1e30) for "no limit": not a length to check.
      const length = integer(config.model_max_length);
      return { model_max_length: length !== null && length <= 1_000_000 ? length : null };
    }
    case 'scheduler':
      // diffusers' schedulers default to epsilon prediction when the config does not say.
      return { prediction_type: text(config.prediction_type) ?? 'epsilon', num_train_timesteps: integer(config.num_train_timesteps) };
    default:
      return {};
  }
}

/** Which graph keys stand for which config keys, by role. */
function fromGraph(role: ComponentRole, graph: GraphDimensions, values: Record<string, unknown>): Record<string, number | undefined> {
  switch (role) {
    case 'unet':
      return { in_channels: graph.inChannels, out_channels: graph.outChannels, cross_attention_dim: graph.crossAttentionDim, sample_size: graph.sampleSize };
    case 'vae':
      return { latent_channels: graph.latentChannels, vae_scale_factor: graph.scaleFactor };
    case 'text-encoder':
      // The graph's last_hidden_state is what the UNet receives: the projected width when there is one.
      return { [values.project_dim !== undefined ? 'project_dim' : 'hidden_size']: graph.hiddenSize, max_position_embeddings: graph.maxPositions };
    default:
      return {};
  }
}

function graphRoleOf(role: ComponentRole, slot: string): GraphRole | undefined {
  if (role === 'unet' || role === 'text-encoder') return role;
  if (role === 'vae') return slot === 'vae_encoder' ? 'vae-encoder' : 'vae-decoder';
  return undefined;
}

/** Options of {@link declaredDimensions}. */
export interface DeclaredDimensionsOptions {
  /**
   * `'when-missing'` (default) reads the graph only when the config leaves a value out;
   * `'always'` also reads it to compare with the config (what `latentkit inspect` does).
   */
  readonly readGraph?: 'when-missing' | 'always';
}

/**
 * A part's declared sizes: its config's, completed (or checked) from its `model.onnx`'s graph.
 * Throws a `ModelLoadError` naming the file when the graph has to be read and is not an ONNX model.
 *
 * @example
 * ```ts
 * const folder = await readModelFolder('models/sd15-converter'); // no config.json in unet/
 * declaredDimensions(folder.components.get('unet')!).values.cross_attention_dim; // 768
 * declaredDimensions(folder.components.get('unet')!).sources.cross_attention_dim; // 'graph'
 * ```
 */
export function declaredDimensions(component: ComponentSource & { readonly configFile?: string }, options: DeclaredDimensionsOptions = {}): DeclaredDimensions {
  const slot = component.entry.slot;
  const role = componentRole(slot);
  const values: Record<string, number | string | null> = configDimensions(role, component.config ?? {});
  const sources: Record<string, DimensionSource> = {};
  for (const [key, value] of Object.entries(values)) if (value !== null && component.configFile) sources[key] = 'config';
  const conflicts: string[] = [];
  const graphRole = graphRoleOf(role, slot);
  const modelFile = path.join(component.componentPath, 'model.onnx');
  const missing = Object.values(values).some((value) => value === null);
  if (graphRole && (missing || options.readGraph === 'always') && existsSync(modelFile)) {
    const declared = fromGraph(role, readGraphDimensions(modelFile, graphRole), values);
    for (const [key, value] of Object.entries(declared)) {
      if (value === undefined) continue;
      const configured = values[key];
      if (configured === null || configured === undefined) {
        values[key] = value;
        sources[key] = 'graph';
      } else if (configured !== value) {
        const configName = component.configFile ? path.basename(component.configFile) : 'config';
        conflicts.push(`${slot}/${configName} says ${key} = ${configured} but ${slot}/model.onnx declares ${value}: the config does not belong to this model`);
      }
    }
  }
  return { values, sources, conflicts };
}

/** The parts to check together: a UNet, a VAE, one or more text encoders and a tokenizer, by slot. */
export interface CheckSelection {
  readonly unet?: string;
  readonly vae?: string;
  readonly scheduler?: string;
  readonly textEncoders?: readonly string[];
  readonly tokenizer?: string;
}

/**
 * What {@link componentsToCheck} found: the input for `checkCompatibility`, and notes on values
 * that no config or graph declares (the checks needing them are skipped).
 */
export interface DeclaredCheck {
  readonly components: ComponentsToCheck;
  readonly notes: readonly string[];
  readonly conflicts: readonly string[];
}

/**
 * Builds `checkCompatibility`'s input for the selected slots of a model folder from what their
 * configs and graphs declare, without loading anything: the check a pipeline runs before it
 * opens a session, and the one `latentkit inspect` reports.
 *
 * @example
 * ```ts
 * const folder = await readModelFolder('models/sd15-converter');
 * assertCompatible(componentsToCheck(folder, { unet: 'unet', vae: 'vae_decoder', textEncoders: ['text_encoder'], tokenizer: 'tokenizer' }).components);
 * ```
 */
export function componentsToCheck(
  folder: ModelFolder,
  selection: CheckSelection,
  described: (slot: string) => DeclaredDimensions | undefined = (slot) => {
    const component = folder.components.get(slot);
    return component ? declaredDimensions(component) : undefined;
  },
): DeclaredCheck {
  const notes: string[] = [];
  const conflicts: string[] = [];
  const dimensions = (slot: string | undefined) => {
    const found = slot === undefined ? undefined : described(slot);
    if (found) conflicts.push(...found.conflicts);
    return found;
  };
  const need = (slot: string, found: DeclaredDimensions, key: string): number | undefined => {
    const value = found.values[key];
    if (typeof value === 'number') return value;
    const configFile = folder.components.get(slot)?.configFile;
    const where = configFile ? path.relative(folder.path, configFile).split(path.sep).join('/') : `${slot} (no config file)`;
    notes.push(`${where}: ${key} is missing or not a number, and the graph does not declare it, so the checks that need it were skipped`);
    return undefined;
  };
  const components: { -readonly [K in keyof ComponentsToCheck]: ComponentsToCheck[K] } = {};
  const unet = dimensions(selection.unet);
  if (unet && selection.unet) {
    const inChannels = need(selection.unet, unet, 'in_channels');
    const crossAttentionDim = need(selection.unet, unet, 'cross_attention_dim');
    const outChannels = unet.values.out_channels;
    if (inChannels !== undefined && crossAttentionDim !== undefined) {
      components.unet = { inChannels, crossAttentionDim, ...(typeof outChannels === 'number' ? { outChannels } : {}) };
    }
  }
  const vae = dimensions(selection.vae);
  if (vae && selection.vae) {
    const latentChannels = need(selection.vae, vae, 'latent_channels');
    const scaleFactor = need(selection.vae, vae, 'vae_scale_factor');
    if (latentChannels !== undefined && scaleFactor !== undefined) components.vae = { latentChannels, scaleFactor };
  }
  const scheduler = selection.scheduler ? folder.components.get(selection.scheduler) : undefined;
  if (scheduler) {
    const className = typeof scheduler.config?._class_name === 'string' ? scheduler.config._class_name : (scheduler.entry.className ?? undefined);
    const predictionType = (dimensions(selection.scheduler)?.values.prediction_type ?? undefined) as PredictionType | undefined;
    components.scheduler = { ...(className ? { className } : {}), ...(predictionType ? { predictionType } : {}) };
  }
  const encoders = (selection.textEncoders ?? []).flatMap((slot) => {
    const found = dimensions(slot);
    if (!found) return [];
    const hiddenSize = need(slot, found, found.values.project_dim !== undefined ? 'project_dim' : 'hidden_size');
    const maxLength = found.values.max_position_embeddings;
    return hiddenSize === undefined ? [] : [{ name: slot, hiddenSize, ...(typeof maxLength === 'number' ? { maxLength } : {}) }];
  });
  if (encoders.length > 0 && encoders.length === selection.textEncoders?.length) components.textEncoders = encoders;
  const tokenizer = dimensions(selection.tokenizer);
  const tokenizerLength = tokenizer?.values.model_max_length;
  if (selection.tokenizer && typeof tokenizerLength === 'number') components.tokenizer = { name: selection.tokenizer, maxLength: tokenizerLength };
  return { components, notes: [...new Set(notes)], conflicts: [...new Set(conflicts)] };
}
