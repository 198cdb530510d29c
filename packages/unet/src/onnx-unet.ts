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

/** Options of {@link OnnxUNet.fromPretrained}. */
export interface OnnxUNetOptions {
  sessionOptions?: SessionOptions;
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
    if (config.prediction_type === undefined) {
      const schedulerConfig = path.join(component.parentDir, 'scheduler', 'scheduler_config.json');
      if (await exists(schedulerConfig)) config.prediction_type = (await readJsonObject(schedulerConfig)).prediction_type;
    }
    // Where config.json is missing or incomplete (diffusers' converter writes none and leaves
    // `sample`'s channels dynamic), the graph's weights say: conv_in's and conv_out's shapes.
    const complete = ['in_channels', 'out_channels', 'cross_attention_dim'].every((key) => config[key] !== undefined);
    const fromGraph = complete ? {} : readGraphDimensions(modelFile, 'unet');
    return withOnnxSession(modelFile, options.sessionOptions, (session) => OnnxUNet.fromSession(session, modelFile, config, configFile, fromGraph));
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
      fixedDimension(sample, 0), fixedSampleSize, fixedDimension(states, 1), predictionTypeOf(config.prediction_type, configFile), floatType as 'float32' | 'float16',
    );
  }

  /** Runs the UNet once. The batch of `sample` and `encoderHiddenStates` must match. */
  async predict(input: UNetInput): Promise<Tensor<Float32Array>> {
    const session = this.session;
    if (!session) throw new StateError('This UNet was disposed: load it again with OnnxUNet.fromPretrained()');
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
    const results = await session.run(feeds);
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
    this.session = undefined;
    await session?.release();
  }

  /** Whether {@link dispose} has run. */
  get disposed(): boolean {
    return this.session === undefined;
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
