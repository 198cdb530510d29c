/**
 * A diffusers AutoencoderKL exported to ONNX as `vae_decoder/` (required) and `vae_encoder/`
 * (optional), run with onnxruntime-node.
 *
 * The decoder takes unscaled latents (`latents / scaling_factor`; its graph includes
 * `post_quant_conv`) and returns images in [-1, 1]. Encoders come in two kinds: some exports
 * return `latent_parameters` (mean and log-variance); diffusers' conversion script exports
 * `latent_sample`, the posterior sampled inside the graph with onnxruntime's own unseeded noise,
 * whose mean and standard deviation latentkit exposes as extra outputs. Either way latentkit
 * samples with the caller's generator exactly as diffusers' `latent_dist.sample(generator)`.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type * as ort from 'onnxruntime-node';
import { Tensor as OrtTensor } from 'onnxruntime-node';
import {
  InvalidArgumentError,
  ModelLoadError,
  StateError,
  assertShape,
  createTensor,
  exists,
  fromOrtFloat32,
  readJsonObject,
  throwIfAborted,
  type Generator,
  type SessionOptions,
  type Tensor,
  type Vae,
  type VaeEncodeOptions,
} from '@latentkit/core';
import { samplePosterior } from './diagonal-gaussian';
import { exposePosteriorOutputs } from './onnx-posterior-outputs';
import { declaredShape, openOnnxSession, readGraphDimensions } from '@latentkit/onnx';
import { runTiled } from './vae-tiling';

/** When and how to run the VAE in tiles. */
export interface VaeTilingOptions {
  /** Image side (pixels) of a tile; images with a larger side are tiled. Default: the VAE's `sample_size`. */
  tileSize?: number;
  /** Overlap between tiles in pixels. Default: a quarter of `tileSize` (as diffusers). */
  overlap?: number;
}

/** Options of {@link OnnxVae.fromPretrained}. */
export interface OnnxVaeOptions {
  sessionOptions?: SessionOptions;
  /** Tiling for images larger than the tile (default on, tiles of the VAE's `sample_size`); `false` never tiles. */
  tiling?: VaeTilingOptions | false;
  /**
   * `vae_encoder/`: `'on-demand'` (default) opens its session at the first `encode()`, so that
   * text-to-image never pays its load time or memory; `true` opens it with the decoder; `false`
   * never (then `canEncode` is false).
   */
  encoder?: boolean | 'on-demand';
}

/**
 * How latents come out of the encoder: `latent_parameters` (mean and log-variance), `posterior`
 * (mean and standard deviation exposed from a `latent_sample` graph), or `latent_sample` as is.
 */
type EncoderOutput =
  | { readonly kind: 'latent_parameters'; readonly name: string }
  | { readonly kind: 'posterior'; readonly mean: string; readonly std: string }
  | { readonly kind: 'latent_sample'; readonly name: string };

/**
 * A VAE backed by onnxruntime sessions.
 *
 * @example
 * ```ts
 * import { OnnxVae } from '@latentkit/vae';
 * const vae = await OnnxVae.fromPretrained('models/sd15-onnx', { tiling: { tileSize: 512 } });
 * const image = await vae.decode(latents); // [1, 3, 512, 512] in [-1, 1]
 * await vae.dispose();
 * ```
 */
export class OnnxVae implements Vae {
  readonly specificationVersion = 'v1' as const;
  private decoder: ort.InferenceSession | undefined;
  private encoder: ort.InferenceSession | undefined;
  /** The encoder session being opened on demand (see {@link OnnxVaeOptions.encoder}). */
  private encoderOpening: Promise<ort.InferenceSession> | undefined;
  private encoderOutput: EncoderOutput | undefined;
  /** Tile layout in pixels, or undefined when tiling is off. */
  readonly tiling: Required<VaeTilingOptions> | undefined;

  private constructor(
    decoder: ort.InferenceSession,
    encoder: ort.InferenceSession | undefined,
    readonly latentChannels: number,
    readonly scaleFactor: number,
    readonly scalingFactor: number,
    readonly shiftFactor: number,
    /** The image side the VAE was trained at (`sample_size`), when its config says. */
    readonly sampleSize: number | undefined,
    encoderOutput: EncoderOutput | undefined,
    tiling: Required<VaeTilingOptions> | undefined,
    /**
     * The image `[height, width]` the graphs were exported for, when their spatial axes are fixed
     * rather than symbolic: only that size runs, and larger images run in tiles of it.
     */
    readonly fixedImageSize: readonly [number, number] | undefined,
    /** The encoder's model file and session options when it opens on demand. */
    private readonly lazyEncoder: { readonly file: string; readonly sessionOptions: SessionOptions | undefined } | undefined,
  ) {
    this.decoder = decoder;
    this.encoder = encoder;
    this.encoderOutput = encoderOutput;
    this.tiling = tiling;
  }

  /**
   * How `encode` samples: `'latent_parameters'` and `'posterior'` (mean and σ exposed from a
   * `latent_sample` graph) draw ε from the caller's generator; `'latent_sample'` (a graph that
   * could not be opened up, e.g. one with external weights) keeps onnxruntime's own noise.
   * Undefined until an on-demand encoder has opened.
   */
  get encoderSampling(): EncoderOutput['kind'] | undefined {
    return this.encoderOutput?.kind;
  }

  /** Whether `encode` is available (a folder may ship only `vae_decoder/`). */
  get canEncode(): boolean {
    return this.encoder !== undefined || (this.lazyEncoder !== undefined && this.decoder !== undefined);
  }

  /** Whether the encoder's session is open (an on-demand encoder opens at the first `encode()`). */
  get encoderLoaded(): boolean {
    return this.encoder !== undefined;
  }

  /**
   * Loads the VAE from a model folder (with `vae_decoder/` and optionally `vae_encoder/`), or from
   * a folder that itself holds `vae_decoder/model.onnx`.
   */
  static async fromPretrained(folder: string, options: OnnxVaeOptions = {}): Promise<OnnxVae> {
    const root = path.basename(folder) === 'vae_decoder' || path.basename(folder) === 'vae_encoder' ? path.dirname(folder) : folder;
    const decoderFile = path.join(root, 'vae_decoder', 'model.onnx');
    const encoderFile = path.join(root, 'vae_encoder', 'model.onnx');
    if (!(await exists(decoderFile))) {
      throw new ModelLoadError({ path: decoderFile, reason: 'the VAE decoder does not exist: pass a model folder holding vae_decoder/model.onnx' });
    }
    const configFile = [path.join(root, 'vae_decoder', 'config.json'), path.join(root, 'vae_encoder', 'config.json'), path.join(root, 'vae', 'config.json')];
    let config: Record<string, unknown> = {};
    let configPath = configFile[0]!;
    for (const file of configFile) {
      if (await exists(file)) {
        config = await readJsonObject(file);
        configPath = file;
        break;
      }
    }
    const blocks = config.block_out_channels;
    if (blocks !== undefined && (!Array.isArray(blocks) || blocks.length === 0)) {
      throw new ModelLoadError({ path: configPath, reason: `$.block_out_channels must be a non-empty array, found ${JSON.stringify(blocks)}` });
    }
    // Where config.json is missing or incomplete (diffusers' converter writes none), the decoder's
    // graph says: its first Conv's input channels and its number of upsampling stages.
    const fromGraph = Array.isArray(blocks) && config.latent_channels !== undefined ? {} : readGraphDimensions(decoderFile, 'vae-decoder');
    // Each down block but the last halves the resolution: 2^(len(block_out_channels) − 1).
    const scaleFactor = Array.isArray(blocks) ? 2 ** (blocks.length - 1) : (fromGraph.scaleFactor ?? 8);
    const scalingFactor = numberField(config, 'scaling_factor', 0.18215, configPath);
    const shiftFactor = numberField(config, 'shift_factor', 0, configPath);
    const sampleSize = typeof config.sample_size === 'number' ? config.sample_size : undefined;

    const decoder = await openOnnxSession(decoderFile, options.sessionOptions);
    let encoder: ort.InferenceSession | undefined;
    try {
      const latentChannels = latentChannelsOf(config, decoder, configPath, decoderFile, fromGraph.latentChannels);
      let encoderOutput: EncoderOutput | undefined;
      const encoderChoice = options.encoder ?? 'on-demand';
      if (encoderChoice !== true && encoderChoice !== false && encoderChoice !== 'on-demand') {
        throw new InvalidArgumentError({ name: 'encoder', expected: "true, false or 'on-demand'", actual: encoderChoice });
      }
      const hasEncoder = encoderChoice !== false && (await exists(encoderFile));
      if (hasEncoder && encoderChoice === true) {
        ({ session: encoder, output: encoderOutput } = await openEncoder(encoderFile, latentChannels, options.sessionOptions));
      }
      const fixedImageSize = fixedImageSizeOf(decoder, encoder, scaleFactor, decoderFile);
      const tiling = resolveTiling(options.tiling, sampleSize, scaleFactor, fixedImageSize);
      const lazy = hasEncoder && encoderChoice === 'on-demand' ? { file: encoderFile, sessionOptions: options.sessionOptions } : undefined;
      return new OnnxVae(decoder, encoder, latentChannels, scaleFactor, scalingFactor, shiftFactor, sampleSize, encoderOutput, tiling, fixedImageSize, lazy);
    } catch (error) {
      await decoder.release();
      await encoder?.release();
      throw error;
    }
  }

  /**
   * Latents `[batch, latentChannels, h, w]` (unscaled: divide the UNet's latents by
   * `scalingFactor` and add `shiftFactor` first) → images `[batch, 3, h·scale, w·scale]` in about [-1, 1].
   */
  async decode(latents: Tensor<Float32Array>, options: { signal?: AbortSignal } = {}): Promise<Tensor<Float32Array>> {
    const decoder = this.live(this.decoder);
    assertShape('latents', latents, [null, this.latentChannels, null, null]);
    throwIfAborted(options.signal);
    const run = async (tile: Tensor<Float32Array>): Promise<Tensor<Float32Array>> => {
      throwIfAborted(options.signal);
      const name = decoder.inputNames[0]!;
      const out = await decoder.run({ [name]: new OrtTensor('float32', tile.data, tile.dims) });
      return fromOrtFloat32(out[decoder.outputNames[0]!]!, 'VAE decoder output');
    };
    const [, , height = 0, width = 0] = latents.dims;
    const tiling = this.tiling;
    this.assertRunnableSize('latents', height * this.scaleFactor, width * this.scaleFactor);
    if (!tiling || Math.max(height, width) * this.scaleFactor <= tiling.tileSize) return run(latents);
    const tileSize = tiling.tileSize / this.scaleFactor;
    return runTiled(latents, this.scaleFactor, { tileSize, overlap: tiling.overlap / this.scaleFactor }, run);
  }

  /**
   * Images `[batch, 3, H, W]` in [-1, 1] (H, W multiples of `scaleFactor`) → unscaled latents:
   * the posterior sampled with `options.generator` (one `randn` of the latents' shape), or its
   * mean without one. An encoder left as `latent_sample` samples inside its graph; latentkit
   * still draws the same number of values from the generator so that every later draw stays
   * where diffusers has it.
   */
  async encode(images: Tensor<Float32Array>, options: VaeEncodeOptions = {}): Promise<Tensor<Float32Array>> {
    if (this.decoder === undefined) this.live(undefined);
    if (!this.canEncode) {
      throw new StateError('This VAE has no encoder (the model folder has no vae_encoder/): image-to-image, inpainting and denoising need one');
    }
    assertShape('images', images, [null, 3, null, null]);
    const encoder = await this.openedEncoder();
    const [batch = 0, , height = 0, width = 0] = images.dims;
    for (const [side, value] of [['height', height], ['width', width]] as const) {
      if (value % this.scaleFactor !== 0 || value === 0) {
        throw new InvalidArgumentError({ name: `images ${side}`, expected: `a positive multiple of the VAE scale factor ${this.scaleFactor}`, actual: value });
      }
    }
    this.assertRunnableSize('images', height, width);
    throwIfAborted(options.signal);
    const output = this.encoderOutput!;
    // Each tile yields what the output kind holds: the sample, or mean and spread stacked on
    // the channel axis (blended as moments, then sampled once, as diffusers' tiled_encode).
    const run = async (tile: Tensor<Float32Array>): Promise<Tensor<Float32Array>> => {
      throwIfAborted(options.signal);
      const feeds = { [encoder.inputNames[0]!]: new OrtTensor('float32', tile.data, tile.dims) };
      if (output.kind !== 'posterior') {
        const out = await encoder.run(feeds, [output.name]);
        return fromOrtFloat32(out[output.name]!, `VAE encoder output '${output.name}'`);
      }
      const out = await encoder.run(feeds, [output.mean, output.std]);
      const mean = fromOrtFloat32(out[output.mean]!, 'VAE encoder mean');
      const std = fromOrtFloat32(out[output.std]!, 'VAE encoder standard deviation');
      return stackChannels(mean, std);
    };
    const tiling = this.tiling;
    const encoded =
      !tiling || Math.max(height, width) <= tiling.tileSize
        ? await run(images)
        : await runTiled(images, 1 / this.scaleFactor, { tileSize: tiling.tileSize, overlap: tiling.overlap, alignment: this.scaleFactor }, run);
    if (output.kind === 'latent_parameters') return samplePosterior(encoded, options.generator, 'log-variance');
    if (output.kind === 'posterior') return samplePosterior(encoded, options.generator, 'standard-deviation');
    advance(options.generator, [batch, this.latentChannels, height / this.scaleFactor, width / this.scaleFactor]);
    return encoded;
  }

  /** The encoder's session, opened now when it opens on demand (once, however many calls wait). */
  private async openedEncoder(): Promise<ort.InferenceSession> {
    if (this.encoder) return this.encoder;
    const lazy = this.lazyEncoder!;
    this.encoderOpening ??= (async () => {
      const { session, output } = await openEncoder(lazy.file, this.latentChannels, lazy.sessionOptions);
      try {
        // dispose() ran while the session opened: release it and refuse.
        const decoder = this.live(this.decoder);
        fixedImageSizeOf(decoder, session, this.scaleFactor, lazy.file);
      } catch (error) {
        await session.release();
        throw error;
      }
      this.encoder = session;
      this.encoderOutput = output;
      return session;
    })();
    try {
      return await this.encoderOpening;
    } catch (error) {
      this.encoderOpening = undefined;
      throw error;
    }
  }

  /** Releases both sessions. Calling it twice is harmless; `encode`/`decode` afterwards throw. */
  async dispose(): Promise<void> {
    const { decoder, encoder, encoderOpening } = this;
    this.decoder = undefined;
    this.encoder = undefined;
    this.encoderOpening = undefined;
    await decoder?.release();
    await encoder?.release();
    // An encoder still opening releases itself when it sees the disposed decoder.
    await encoderOpening?.catch(() => undefined);
  }

  /** Whether {@link dispose} has run. */
  get disposed(): boolean {
    return this.decoder === undefined;
  }

  /** A fixed-size export runs its own size, or larger sizes in tiles of it. */
  private assertRunnableSize(name: string, height: number, width: number): void {
    const fixed = this.fixedImageSize;
    if (!fixed || (height === fixed[0] && width === fixed[1])) return;
    const tileable = this.tiling !== undefined && height >= fixed[0] && width >= fixed[1];
    if (tileable) return;
    throw new InvalidArgumentError({
      name,
      expected: `an image of ${fixed[1]}×${fixed[0]} pixels${fixed[0] === fixed[1] ? ', or larger with tiling on' : ''} (this export has fixed spatial axes)`,
      actual: `${width}×${height}`,
      hint: 're-export the VAE with dynamic height and width axes to run other sizes',
    });
  }

  private live<T>(session: T | undefined): T {
    if (session === undefined) throw new StateError('This VAE was disposed: load it again with OnnxVae.fromPretrained()');
    return session;
  }
}

/** Opens the encoder and finds how its latents come out (see {@link exposeEncoderPosterior}). */
async function openEncoder(
  encoderFile: string,
  latentChannels: number,
  sessionOptions: SessionOptions | undefined,
): Promise<{ session: ort.InferenceSession; output: EncoderOutput }> {
  let session = await openOnnxSession(encoderFile, sessionOptions);
  try {
    let output = encoderOutputOf(session, encoderFile, latentChannels);
    if (output.kind === 'latent_sample') {
      const exposed = await exposeEncoderPosterior(encoderFile, output.name, sessionOptions);
      if (exposed) {
        await session.release();
        ({ session, output } = exposed);
      }
    }
    return { session, output };
  } catch (error) {
    await session.release();
    throw error;
  }
}

/**
 * Reopens a `latent_sample` encoder with its posterior's mean and standard deviation exposed (see
 * {@link exposePosteriorOutputs}), so that latentkit samples with the caller's generator. Models
 * with external weight files stay as they are (an edited model loads from memory, where
 * onnxruntime cannot resolve them).
 */
async function exposeEncoderPosterior(
  encoderFile: string,
  sampleOutput: string,
  sessionOptions: SessionOptions | undefined,
): Promise<{ session: ort.InferenceSession; output: EncoderOutput } | undefined> {
  const siblings = await fs.readdir(path.dirname(encoderFile));
  if (siblings.some((name) => name !== 'model.onnx' && name !== 'config.json' && !name.startsWith('.'))) return undefined;
  const exposed = exposePosteriorOutputs(await fs.readFile(encoderFile), sampleOutput);
  if (!exposed) return undefined;
  const session = await openOnnxSession(encoderFile, sessionOptions, exposed.model);
  return { session, output: { kind: 'posterior', mean: exposed.mean, std: exposed.std } };
}

/** `[B, C, h, w]` and `[B, C, h, w]` → `[B, 2C, h, w]`. */
function stackChannels(first: Tensor<Float32Array>, second: Tensor<Float32Array>): Tensor<Float32Array> {
  const [batch = 0, channels = 0, height = 0, width = 0] = first.dims;
  const size = channels * height * width;
  const out = new Float32Array(2 * batch * size);
  for (let b = 0; b < batch; b++) {
    out.set(first.data.subarray(b * size, (b + 1) * size), 2 * b * size);
    out.set(second.data.subarray(b * size, (b + 1) * size), (2 * b + 1) * size);
  }
  return createTensor([batch, 2 * channels, height, width], out);
}

/** Keeps a generator's stream aligned with diffusers' `latent_dist.sample(generator)` draw. */
function advance(generator: Generator | undefined, dims: readonly number[]): void {
  generator?.randn(dims);
}

function numberField(config: Record<string, unknown>, key: string, fallback: number, file: string): number {
  const value = config[key];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new ModelLoadError({ path: file, reason: `$.${key} must be a number, found ${JSON.stringify(value)}` });
  return value;
}

function latentChannelsOf(config: Record<string, unknown>, decoder: ort.InferenceSession, configFile: string, decoderFile: string, fromWeights: number | undefined): number {
  const declared = declaredShape(decoder, decoder.inputNames[0]!, 'input')?.[1];
  const fromGraph = typeof declared === 'number' && declared > 0 ? declared : fromWeights;
  const fromConfig = config.latent_channels;
  if (fromConfig !== undefined && (typeof fromConfig !== 'number' || !Number.isInteger(fromConfig) || fromConfig <= 0)) {
    throw new ModelLoadError({ path: configFile, reason: `$.latent_channels must be a positive integer, found ${JSON.stringify(fromConfig)}` });
  }
  if (typeof fromGraph === 'number' && fromConfig !== undefined && fromGraph !== fromConfig) {
    throw new ModelLoadError({ path: decoderFile, reason: `config.json says latent_channels = ${fromConfig} but the decoder takes ${fromGraph} channels: the config does not belong to this model` });
  }
  if (fromConfig === undefined && fromGraph === undefined) {
    throw new ModelLoadError({ path: decoderFile, reason: "neither config.json nor the decoder's graph declares latent_channels: add it to vae_decoder/config.json" });
  }
  return (fromConfig as number | undefined) ?? fromGraph!;
}

function encoderOutputOf(encoder: ort.InferenceSession, encoderFile: string, latentChannels: number): EncoderOutput {
  for (const kind of ['latent_parameters', 'latent_sample'] as const) if (encoder.outputNames.includes(kind)) return { kind, name: kind };
  if (encoder.outputNames.length === 1) {
    const name = encoder.outputNames[0]!;
    const channels = declaredShape(encoder, name, 'output')?.[1];
    if (channels === 2 * latentChannels) return { kind: 'latent_parameters', name };
  }
  throw new ModelLoadError({
    path: encoderFile,
    reason: `the encoder returns [${encoder.outputNames.join(', ')}], but latentkit needs 'latent_sample' (a sampled latent) or 'latent_parameters' (mean and log-variance): re-export the encoder`,
  });
}

/** The image size fixed by the decoder's latent axes (× scale) or the encoder's image axes; they must agree. */
function fixedImageSizeOf(
  decoder: ort.InferenceSession,
  encoder: ort.InferenceSession | undefined,
  scaleFactor: number,
  decoderFile: string,
): readonly [number, number] | undefined {
  const latent = declaredShape(decoder, decoder.inputNames[0]!, 'input');
  const fromDecoder = typeof latent?.[2] === 'number' && typeof latent[3] === 'number' ? ([latent[2] * scaleFactor, latent[3] * scaleFactor] as const) : undefined;
  const image = encoder ? declaredShape(encoder, encoder.inputNames[0]!, 'input') : undefined;
  const fromEncoder = typeof image?.[2] === 'number' && typeof image[3] === 'number' ? ([image[2], image[3]] as const) : undefined;
  if (fromDecoder && fromEncoder && (fromDecoder[0] !== fromEncoder[0] || fromDecoder[1] !== fromEncoder[1])) {
    throw new ModelLoadError({
      path: decoderFile,
      reason: `the decoder is fixed to ${fromDecoder[1]}×${fromDecoder[0]} images but the encoder to ${fromEncoder[1]}×${fromEncoder[0]}: export both halves for the same size`,
    });
  }
  return fromDecoder ?? fromEncoder;
}

function resolveTiling(
  tiling: VaeTilingOptions | false | undefined,
  sampleSize: number | undefined,
  scaleFactor: number,
  fixed: readonly [number, number] | undefined,
): Required<VaeTilingOptions> | undefined {
  if (tiling === false) return undefined;
  // A fixed-size export can only run tiles of its own (square) size.
  if (fixed && fixed[0] !== fixed[1]) return undefined;
  if (fixed && tiling?.tileSize !== undefined && tiling.tileSize !== fixed[0]) {
    throw new InvalidArgumentError({ name: 'tiling.tileSize', expected: `${fixed[0]} (this export has fixed ${fixed[0]}×${fixed[0]} spatial axes)`, actual: tiling.tileSize });
  }
  const tileSize = fixed?.[0] ?? tiling?.tileSize ?? sampleSize ?? 512;
  const overlap = tiling?.overlap ?? Math.floor(tileSize / 4 / scaleFactor) * scaleFactor;
  if (!Number.isInteger(tileSize) || tileSize <= 0 || tileSize % scaleFactor !== 0) {
    throw new InvalidArgumentError({ name: 'tiling.tileSize', expected: `a positive multiple of the VAE scale factor ${scaleFactor}`, actual: tileSize });
  }
  if (!Number.isInteger(overlap) || overlap < 0 || overlap >= tileSize || overlap % scaleFactor !== 0) {
    throw new InvalidArgumentError({ name: 'tiling.overlap', expected: `a multiple of ${scaleFactor} in [0, ${tileSize})`, actual: overlap });
  }
  return { tileSize, overlap };
}
