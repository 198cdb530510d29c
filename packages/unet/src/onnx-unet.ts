/**
 * A diffusers UNet2DConditionModel exported to ONNX (`unet/model.onnx`, optionally with external
 * `weights.pb`), run with onnxruntime-node.
 *
 * Exports differ in how they take the timestep — float32 `[batch]` (diffusers' conversion script),
 * a scalar, `[1]`, or int64 — so the input is built from the model's own metadata rather than
 * assumed. Channel counts and the text-state width come from `config.json` and are checked
 * against the graph's declared shapes; without a config they come from the graph (its declared
 * shapes, else the weight shapes of its first and last convolutions and its cross-attention).
 */
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import {
  InvalidArgumentError,
  ModelLoadError,
  StateError,
  assertShape,
  exists,
  readJsonObject,
  throwIfAborted,
  type PredictionType,
  type SessionOptions,
  type Tensor,
  type UNet,
  type UNetInput,
} from '@latentkit/core';
import {
  describeInputs,
  describeOutputs,
  fixedDimension,
  float32ToFloat16,
  floatFeed,
  floatOutput,
  readGraphDimensions,
  resolveOnnxComponent,
  withOnnxSession,
  type GraphDimensions,
  type OnnxValueInfo,
} from '@latentkit/onnx';
import { isNative, retainFreedMemory } from '@latentkit/native';
import { cachedPartition, openPartitionSessions } from './attention-cache';
import type { AttentionMatch } from './attention-pattern';
import { processorHook, type AttentionProcessor } from './attention-processors';
import { SegmentedSession } from './segmented-session';

/** Who runs the UNet's attention. */
export type AttentionBackend = 'native' | 'onnxruntime';

/** Options of {@link OnnxUNet.fromPretrained}. */
export interface OnnxUNetOptions {
  sessionOptions?: SessionOptions;
  /**
   * `'native'`: attention runs in `@latentkit/native`'s fused kernel, onnxruntime runs the rest of
   * the graph in segments between the attention calls; `'onnxruntime'`: the whole graph in one
   * session. Default: `'native'` when the addon loads (not with `LATENTKIT_NATIVE=0`), else
   * `'onnxruntime'`. A graph without attention the kernel can run stays whole either way.
   */
  attention?: AttentionBackend;
  /** Where the partitioned graph is cached (default `LATENTKIT_CACHE_DIR`, else `~/.cache/latentkit`). */
  cacheDir?: string;
  /**
   * With native attention, keep freed C-heap memory for reuse while this UNet is loaded
   * (`@latentkit/native`'s `retainFreedMemory`, process-wide, glibc only). The segment sessions
   * have no arenas of their own, so without it every call maps and faults in its tensors afresh:
   * measured on the SD 1.5-size UNet at 512², 29–35 s per call with it against 47–62 s without,
   * load 54 s against 145 s, for 0.3 GB more peak memory. Default true; `dispose()` ends it.
   */
  retainFreedMemory?: boolean;
}

/**
 * The attention backend `requested` resolves to: `'native'` by default where the addon loads.
 *
 * @example
 * ```ts
 * resolveAttentionBackend(undefined); // 'native' (or 'onnxruntime' with LATENTKIT_NATIVE=0)
 * ```
 */
export function resolveAttentionBackend(requested: unknown): AttentionBackend {
  if (requested === undefined) return isNative() ? 'native' : 'onnxruntime';
  if (requested !== 'native' && requested !== 'onnxruntime') {
    throw new InvalidArgumentError({ name: 'attention', expected: "'native' or 'onnxruntime'", actual: requested });
  }
  return requested;
}

/** How the graph wants its timestep. */
export interface TimestepFormat {
  readonly type: 'float32' | 'float16' | 'int64' | 'int32';
  /** `'scalar'`: a 0-d tensor; `'one'`: shape [1]; `'batch'`: shape [batch]. */
  readonly layout: 'scalar' | 'one' | 'batch';
}

const INPUTS = ['sample', 'timestep', 'encoder_hidden_states'] as const;

/**
 * A UNet backed by an onnxruntime session.
 *
 * @example
 * ```ts
 * import { OnnxUNet } from '@latentkit/unet';
 * const unet = await OnnxUNet.fromPretrained('models/sd15-onnx', { sessionOptions: { threads: 4 } });
 * const noise = await unet.predict({ sample, timestep: 981, encoderHiddenStates });
 * await unet.dispose();
 * ```
 */
export class OnnxUNet implements UNet {
  readonly specificationVersion = 'v1' as const;
  private session: ort.InferenceSession | undefined;
  private segmented: SegmentedSession | undefined;
  private processor: AttentionProcessor | undefined;
  private readonly outputName: string;

  private constructor(
    session: ort.InferenceSession,
    /** The `model.onnx` this UNet runs. */
    readonly modelFile: string,
    readonly inChannels: number,
    readonly outChannels: number,
    readonly crossAttentionDim: number,
    readonly sampleSize: number | undefined,
    private readonly timestepFormat: TimestepFormat,
    /** The batch size the graph was exported with, when it is fixed rather than symbolic. */
    readonly fixedBatch: number | undefined,
    /** The latent `[height, width]` the graph was exported with, when fixed (then only that size runs). */
    readonly fixedSampleSize: readonly [number, number] | undefined,
    /** The text-state length the graph was exported with, when fixed. */
    readonly fixedSequenceLength: number | undefined,
    /**
     * What the model predicts: `prediction_type` of its config.json, else of the model folder's
     * `scheduler/scheduler_config.json` (the setting it was trained with); undefined when neither says.
     */
    readonly predictionType: PredictionType | undefined,
    /**
     * What latent sides must be a multiple of: 2^(down-sampling stages), one stage per down block
     * but the last (`down_block_types` / `block_out_channels` of config.json); a skip connection
     * concatenates a down-sampled map with an up-sampled one, so other sizes fail inside the graph.
     */
    readonly sampleMultiple: number | undefined = undefined,
    /** The element type of `sample` and `encoder_hidden_states` (float16 graphs get converted feeds and outputs). */
    readonly floatType: 'float32' | 'float16' = 'float32',
  ) {
    this.session = session;
    this.outputName = session.outputNames[0]!;
  }

  /**
   * Loads a UNet from a model folder (holding `unet/`) or from the `unet/` folder itself.
   * Throws a {@link ModelLoadError} when the files are missing or the graph is not a SD UNet.
   */
  static async fromPretrained(folder: string, options: OnnxUNetOptions = {}): Promise<OnnxUNet> {
    const component = await resolveOnnxComponent(folder, 'unet');
    const { modelFile, configFile } = component;
    if (!(await exists(modelFile))) {
      throw new ModelLoadError({ path: modelFile, reason: 'the UNet model file does not exist: pass a model folder holding unet/model.onnx, or the unet/ folder' });
    }
    const config = { ...component.config };
    // The prediction type's own file, so that a typo is reported where it is.
    let predictionTypeFile = configFile;
    if (config.prediction_type === undefined) {
      const schedulerConfig = path.join(component.parentDir, 'scheduler', 'scheduler_config.json');
      if (await exists(schedulerConfig)) {
        config.prediction_type = (await readJsonObject(schedulerConfig)).prediction_type;
        predictionTypeFile = schedulerConfig;
      }
    }
    predictionTypeOf(config.prediction_type, predictionTypeFile);
    // Where config.json is missing or incomplete (diffusers' converter writes none and leaves
    // `sample`'s channels dynamic), the graph's weights say: conv_in's and conv_out's shapes.
    const complete = ['in_channels', 'out_channels', 'cross_attention_dim'].every((key) => config[key] !== undefined);
    const fromGraph = complete ? {} : readGraphDimensions(modelFile, 'unet');
    const backend = resolveAttentionBackend(options.attention);
    if (backend === 'native') {
      const unet = await OnnxUNet.partitioned(modelFile, config, configFile, options, fromGraph);
      if (unet) return unet;
    }
    return withOnnxSession(modelFile, options.sessionOptions, (session) => OnnxUNet.fromSession(session, modelFile, config, configFile, fromGraph));
  }

  /**
   * The UNet split around its attention calls, or undefined when the graph has none the kernel can
   * run. The whole graph is never opened: its inputs and outputs are checked from the declarations
   * kept in the partition's plan, so loading holds the weights once.
   */
  private static async partitioned(
    modelFile: string, config: Record<string, unknown>, configFile: string, options: OnnxUNetOptions, fromGraph: GraphDimensions,
  ): Promise<OnnxUNet | undefined> {
    let cached;
    const started = performance.now();
    try {
      cached = await cachedPartition(modelFile, options.cacheDir);
    } catch (error) {
      if (error instanceof ModelLoadError) throw error;
      // Not a graph latentkit can read or split (onnxruntime, loading it whole next, says what is
      // wrong with a damaged file): attention stays in onnxruntime.
      process.emitWarning(`latentkit runs this UNet's attention in onnxruntime: the graph could not be split (${(error as Error).message})`, { code: 'LATENTKIT_ATTENTION_FALLBACK' });
      return undefined;
    }
    if (cached === undefined) return undefined;
    options.sessionOptions?.onLoadStep?.({ kind: 'partition', file: modelFile, milliseconds: performance.now() - started, cache: cached.fromCache ? 'hit' : 'fill' });
    // The declared inputs and outputs, in the form describeInputs/describeOutputs read from a session.
    const declarations = {
      inputNames: cached.inputs.map((value) => value.name),
      outputNames: cached.outputs.map((value) => value.name),
      inputMetadata: cached.inputs,
      outputMetadata: cached.outputs,
    } as unknown as ort.InferenceSession;
    const unet = OnnxUNet.fromSession(declarations, modelFile, config, configFile, fromGraph);
    unet.session = undefined;
    // Held from before the segments open: their loading allocates and frees as much as a call does.
    const endRetention = options.retainFreedMemory === false ? () => undefined : retainFreedMemory();
    let sessions;
    try {
      sessions = await openPartitionSessions(cached, modelFile, options.sessionOptions);
    } catch (error) {
      endRetention();
      throw error;
    }
    unet.segmented = new SegmentedSession(sessions, cached.steps, cached.attention, cached.outputs.map((value) => value.name), modelFile, endRetention);
    return unet;
  }

  /** `'native'` when attention runs in the addon's kernel between onnxruntime segments. */
  get attentionBackend(): AttentionBackend {
    return this.segmented ? 'native' : 'onnxruntime';
  }

  /** The attention calls the native backend runs, in graph order (empty with onnxruntime). */
  get attentionLayers(): readonly AttentionMatch[] {
    return this.segmented?.attention ?? [];
  }

  /** Time spent in onnxruntime segments and in attention during the last call (native backend). */
  get lastCallTimings(): { onnxruntimeMs: number; attentionMs: number } | undefined {
    return this.segmented ? { ...this.segmented.timings } : undefined;
  }

  /**
   * Sets (or with undefined, clears) the processor that observes and changes attention on the
   * following calls. Needs the native backend, where attention runs outside onnxruntime.
   *
   * @example
   * ```ts
   * unet.setAttentionProcessor(reweightTokens({ 2: 0 }));
   * ```
   */
  setAttentionProcessor(processor: AttentionProcessor | undefined): void {
    if (processor !== undefined && this.segmented === undefined) {
      throw new StateError(
        this.disposed
          ? 'This UNet was disposed: load it again with OnnxUNet.fromPretrained()'
          : "attention processors need attention: 'native' (the addon loaded and a graph whose attention latentkit recognises); this UNet runs attention inside onnxruntime",
      );
    }
    this.processor = processor;
  }

  /**
   * Wraps an open session; `config` is the UNet's parsed `config.json` (may be empty), and
   * `fromGraph` what the graph's weights declare ({@link readGraphDimensions}), used where neither
   * the config nor the session's input shapes say.
   */
  static fromSession(
    session: ort.InferenceSession,
    modelFile: string,
    config: Readonly<Record<string, unknown>>,
    configFile = modelFile,
    fromGraph: GraphDimensions = {},
  ): OnnxUNet {
    const inputs = describeInputs(session);
    const outputs = describeOutputs(session);
    const byName = new Map(inputs.map((i) => [i.name, i]));
    const missing = INPUTS.filter((name) => !byName.has(name));
    const extra = inputs.filter((i) => !(INPUTS as readonly string[]).includes(i.name)).map((i) => i.name);
    if (missing.length > 0 || extra.length > 0 || outputs.length === 0) {
      throw new ModelLoadError({
        path: modelFile,
        reason:
          `a Stable Diffusion UNet takes exactly ${INPUTS.join(', ')} and returns one tensor, but this graph takes ` +
          `[${inputs.map((i) => i.name).join(', ')}] and returns [${outputs.map((o) => o.name).join(', ')}]: ` +
          'export it with diffusers\' convert_stable_diffusion_checkpoint_to_onnx.py (SDXL-style UNets with text_embeds/time_ids are not supported)',
      });
    }
    const sample = byName.get('sample')!;
    const states = byName.get('encoder_hidden_states')!;
    const floatType = sample.type ?? 'float32';
    for (const info of [sample, states]) {
      if ((info.type ?? 'float32') !== floatType || (floatType !== 'float32' && floatType !== 'float16')) {
        throw new ModelLoadError({
          path: modelFile,
          reason: `'sample' is ${sample.type} and 'encoder_hidden_states' ${states.type}, but latentkit runs UNets whose float inputs are both float32 or both float16: re-export the UNet`,
        });
      }
    }
    const inChannels = agree(modelFile, configFile, 'in_channels', config.in_channels, fixedDimension(sample, 1) ?? fromGraph.inChannels, 'sample', 1);
    const outChannels =
      agree(modelFile, configFile, 'out_channels', config.out_channels, fixedDimension(outputs[0], 1) ?? fromGraph.outChannels, outputs[0]!.name, 1) ?? inChannels;
    const crossAttentionDim = agree(
      modelFile, configFile, 'cross_attention_dim', config.cross_attention_dim, fixedDimension(states, 2) ?? fromGraph.crossAttentionDim, 'encoder_hidden_states', 2,
    );
    if (inChannels === undefined || outChannels === undefined || crossAttentionDim === undefined) {
      throw new ModelLoadError({
        path: configFile,
        reason: `neither config.json nor the graph declares ${inChannels === undefined ? 'in_channels' : 'cross_attention_dim'}: add it to the UNet's config.json`,
      });
    }
    const sampleSize = typeof config.sample_size === 'number' ? config.sample_size : fixedDimension(sample, 2);
    const timestep = timestepFormatOf(byName.get('timestep')!, modelFile);
    const [fixedHeight, fixedWidth] = [fixedDimension(sample, 2), fixedDimension(sample, 3)];
    const fixedSampleSize = fixedHeight !== undefined && fixedWidth !== undefined ? ([fixedHeight, fixedWidth] as const) : undefined;
    return new OnnxUNet(
      session, modelFile, inChannels, outChannels, crossAttentionDim, sampleSize, timestep,
      fixedDimension(sample, 0), fixedSampleSize, fixedDimension(states, 1), predictionTypeOf(config.prediction_type, configFile),
      sampleMultipleOf(config), floatType as 'float32' | 'float16',
    );
  }

  /** Runs the UNet once. The batch of `sample` and `encoderHiddenStates` must match. */
  async predict(input: UNetInput): Promise<Tensor<Float32Array>> {
    const session = this.session;
    const segmented = this.segmented;
    if (!session && !segmented) throw new StateError('This UNet was disposed: load it again with OnnxUNet.fromPretrained()');
    const { sample, timestep, encoderHiddenStates, signal } = input;
    assertShape('sample', sample, [null, this.inChannels, null, null]);
    const batch = sample.dims[0]!;
    if (this.fixedBatch !== undefined && batch !== this.fixedBatch) {
      throw new InvalidArgumentError({
        name: 'sample',
        expected: `a batch of ${this.fixedBatch} (this export has a fixed batch size)`,
        actual: sample.dims,
        hint: this.fixedBatch === 2 ? "run guidance batched (guidanceMode: 'batched') with one image per call" : 're-export the UNet with a dynamic batch axis',
      });
    }
    if (this.fixedSampleSize && (sample.dims[2] !== this.fixedSampleSize[0] || sample.dims[3] !== this.fixedSampleSize[1])) {
      const [height, width] = this.fixedSampleSize;
      throw new InvalidArgumentError({
        name: 'sample',
        expected: `a [${batch}, ${this.inChannels}, ${height}, ${width}] tensor (this export has a fixed ${height}×${width} latent)`,
        actual: sample.dims,
        hint: 'generate at the size the model was exported for, or re-export the UNet with dynamic height and width axes',
      });
    }
    assertShape('encoderHiddenStates', encoderHiddenStates, [batch, this.fixedSequenceLength ?? null, this.crossAttentionDim]);
    if (typeof timestep !== 'number' || !Number.isFinite(timestep)) {
      throw new InvalidArgumentError({ name: 'timestep', expected: 'a finite number', actual: timestep });
    }
    throwIfAborted(signal);
    const feeds: Record<string, ort.Tensor> = {
      sample: floatFeed(ort.Tensor, this.floatType, sample),
      timestep: this.timestepTensor(timestep, batch),
      encoder_hidden_states: floatFeed(ort.Tensor, this.floatType, encoderHiddenStates),
    };
    const processor = this.processor;
    const results = segmented
      ? await segmented.run(feeds, { signal, hook: processor ? processorHook(processor, timestep) : undefined })
      : await session!.run(feeds);
    const output = results[this.outputName]!;
    throwIfAborted(signal);
    return floatOutput(output, `UNet output '${this.outputName}'`);
  }

  private timestepTensor(timestep: number, batch: number): ort.Tensor {
    return timestepTensor(this.timestepFormat, timestep, batch);
  }

  /** How this UNet's graph takes its timestep. */
  get timestepInput(): TimestepFormat {
    return this.timestepFormat;
  }

  /** Releases the onnxruntime session. Calling it twice is harmless; `predict` afterwards throws. */
  async dispose(): Promise<void> {
    const session = this.session;
    const segmented = this.segmented;
    this.session = undefined;
    this.segmented = undefined;
    this.processor = undefined;
    await session?.release();
    await segmented?.dispose();
  }

  /** Whether {@link dispose} has run. */
  get disposed(): boolean {
    return this.session === undefined && this.segmented === undefined;
  }
}

/**
 * The timestep as the graph wants it. Integer formats round (sigma-based schedulers visit
 * fractional timesteps; an integer-timestep export can only take the nearest).
 *
 * @example
 * ```ts
 * timestepTensor({ type: 'int64', layout: 'scalar' }, 981, 2); // int64 tensor, dims [], value 981n
 * ```
 */
export function timestepTensor(format: TimestepFormat, timestep: number, batch: number): ort.Tensor {
  const { type, layout } = format;
  const count = layout === 'batch' ? batch : 1;
  const dims = layout === 'scalar' ? [] : [count];
  if (type === 'int64') return new ort.Tensor('int64', new BigInt64Array(count).fill(BigInt(Math.round(timestep))), dims);
  if (type === 'int32') return new ort.Tensor('int32', new Int32Array(count).fill(Math.round(timestep)), dims);
  if (type === 'float16') return new ort.Tensor('float16', float32ToFloat16(new Float32Array(count).fill(timestep)), dims);
  return new ort.Tensor('float32', new Float32Array(count).fill(timestep), dims);
}

/**
 * Reads the timestep's element type and rank from the graph; unknown metadata means diffusers'
 * float32 `[batch]`.
 *
 * @example
 * ```ts
 * timestepFormatOf({ name: 'timestep', type: 'int64', shape: [] }, 'unet/model.onnx'); // { type: 'int64', layout: 'scalar' }
 * ```
 */
export function timestepFormatOf(info: OnnxValueInfo, modelFile: string): TimestepFormat {
  const type = info.type ?? 'float32';
  if (type !== 'float32' && type !== 'float16' && type !== 'int64' && type !== 'int32') {
    throw new ModelLoadError({ path: modelFile, reason: `input 'timestep' is ${type}; latentkit feeds float32, float16, int64 or int32 timesteps: re-export the UNet` });
  }
  const shape = info.shape;
  const layout = shape === undefined ? 'batch' : shape.length === 0 ? 'scalar' : shape[0] === 1 ? 'one' : 'batch';
  return { type, layout };
}

/** 2^(number of down blocks − 1), from config.json; undefined when it does not say. */
function sampleMultipleOf(config: Readonly<Record<string, unknown>>): number | undefined {
  const blocks = Array.isArray(config.down_block_types) ? config.down_block_types : Array.isArray(config.block_out_channels) ? config.block_out_channels : undefined;
  return blocks && blocks.length >= 1 ? 2 ** (blocks.length - 1) : undefined;
}

const PREDICTION_TYPES: readonly PredictionType[] = ['epsilon', 'v_prediction', 'sample'];

function predictionTypeOf(value: unknown, configFile: string): PredictionType | undefined {
  if (value === undefined || value === null) return undefined;
  if (!PREDICTION_TYPES.includes(value as PredictionType)) {
    throw new ModelLoadError({ path: configFile, reason: `prediction_type must be one of ${PREDICTION_TYPES.join(', ')}, found ${JSON.stringify(value)}` });
  }
  return value as PredictionType;
}

/** A size both config.json and the graph may declare: they must agree when both do. */
function agree(modelFile: string, configFile: string, key: string, fromConfig: unknown, fromGraph: number | undefined, input: string, axis: number): number | undefined {
  if (fromConfig !== undefined && (typeof fromConfig !== 'number' || !Number.isInteger(fromConfig) || fromConfig <= 0)) {
    throw new ModelLoadError({ path: configFile, reason: `$.${key} must be a positive integer, found ${JSON.stringify(fromConfig)}` });
  }
  if (fromConfig !== undefined && fromGraph !== undefined && fromConfig !== fromGraph) {
    throw new ModelLoadError({
      path: modelFile,
      reason: `config.json says ${key} = ${fromConfig} but the graph's '${input}' has ${fromGraph} on axis ${axis}: the config does not belong to this model`,
    });
  }
  return (fromConfig as number | undefined) ?? fromGraph;
}
