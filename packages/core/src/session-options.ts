/**
 * Session options for every ONNX-backed component: one plain, validated shape that the pipeline
 * passes unchanged to its UNet, VAE and text-encoder plugins, and one function that turns it into
 * onnxruntime's `InferenceSession.SessionOptions` (structurally, so core need not depend on
 * onnxruntime).
 */
import { InvalidArgumentError } from './errors';

/** Where a session runs. `'cuda'` needs onnxruntime-node installed with its CUDA binaries. */
export type ExecutionProvider = 'cpu' | 'cuda';

/** onnxruntime's graph optimisation levels, from none to all (layout changes included). */
export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

/**
 * What a user may set for the ONNX sessions of a pipeline.
 *
 * @example
 * ```ts
 * const pipeline = await StableDiffusionPipeline.fromPretrained(folder, {
 *   sessionOptions: { threads: 4, executionProvider: 'cpu', graphOptimizationLevel: 'all' },
 * });
 * ```
 */
export interface SessionOptions {
  /** Threads inside one operator (onnxruntime's `intraOpNumThreads`); default: onnxruntime's choice, or `LATENTKIT_THREADS`. */
  threads?: number;
  /** `'cpu'` (default) or `'cuda'`. */
  executionProvider?: ExecutionProvider;
  /** Default `'all'`. */
  graphOptimizationLevel?: GraphOptimizationLevel;
  /**
   * Let onnxruntime repack constant weights into its matrix-multiply layout when a session opens
   * (its `session.disable_prepacking` off). Default `false`: the packing makes a second, packed
   * copy of every MatMul/Gemm weight at each open, and the multiply packs its panels on the fly
   * as fast. Measured with `pnpm bench:real` on the SD 1.5-size export (2 cores, filled cache):
   * the UNet's 33 segments open in 0.19–0.31 s instead of 5.9–7.9 s, the text encoder in 0.04 s
   * instead of 1.8–2.3 s, RSS after load is 0.2 GB instead of 1.5 GB, and steps take as long.
   */
  prepackWeights?: boolean;
  /**
   * Where onnxruntime's optimized copies of large models (64 MB and up) are kept, so that later
   * loads skip graph optimization: a folder, or `false` for none. Default: `LATENTKIT_CACHE_DIR`,
   * else `~/.cache/latentkit` (`$XDG_CACHE_HOME/latentkit`). Clear it with
   * `clearOptimizedModelCache()` from `@latentkit/onnx`.
   */
  optimizedModelCache?: string | false;
  /**
   * Called after each step of loading a model (an onnxruntime session opened, the UNet's graph
   * split around its attention calls), with how long it took and whether a cache served it: what
   * `StableDiffusionPipeline.loadReport` and `pnpm bench:real` report. Never passed to onnxruntime.
   */
  onLoadStep?: (step: LoadStep) => void;
}

/**
 * One step of loading a model, as {@link SessionOptions.onLoadStep} receives it.
 *
 * @example
 * ```ts
 * const steps: LoadStep[] = [];
 * await OnnxUNet.fromPretrained(folder, { sessionOptions: { onLoadStep: (step) => steps.push(step) } });
 * steps[0]; // { kind: 'partition', file: '…/unet/model.onnx', milliseconds: 12, cache: 'hit' }
 * ```
 */
export interface LoadStep {
  /** `'session'`: an onnxruntime session opened; `'partition'`: a graph split into segments (or its split read back). */
  readonly kind: 'session' | 'partition';
  /** The model file the step opened or split. */
  readonly file: string;
  /** Wall-clock time of the step. */
  readonly milliseconds: number;
  /**
   * `'hit'`: served from latentkit's cache (an optimized model, a stored partition); `'fill'`:
   * done in full and stored for the next load; `'skip'`: done in full, not cached (a small model,
   * the cache turned off, optimization disabled).
   */
  readonly cache: 'hit' | 'fill' | 'skip';
}

/** The subset of onnxruntime's `InferenceSession.SessionOptions` that {@link toOrtSessionOptions} fills. */
export interface OrtSessionOptions {
  executionProviders: string[];
  graphOptimizationLevel: GraphOptimizationLevel;
  intraOpNumThreads?: number;
  /** One session at a time runs its graph sequentially; parallelism comes from the intra-op pool. */
  executionMode: 'sequential';
  /** onnxruntime's session configuration entries (`session.disable_prepacking` without `prepackWeights`). */
  extra?: { session: Record<string, string> };
}

const PROVIDERS: readonly ExecutionProvider[] = ['cpu', 'cuda'];
const LEVELS: readonly GraphOptimizationLevel[] = ['disabled', 'basic', 'extended', 'all'];

/**
 * Validates session options and fills their defaults. Throws an {@link InvalidArgumentError}
 * naming the bad field.
 *
 * @example
 * ```ts
 * resolveSessionOptions({ threads: 2 }); // { threads: 2, executionProvider: 'cpu', graphOptimizationLevel: 'all', prepackWeights: false }
 * ```
 */
export function resolveSessionOptions(options: SessionOptions = {}, env: NodeJS.ProcessEnv = process.env): Required<Omit<SessionOptions, 'threads' | 'optimizedModelCache' | 'onLoadStep'>> & Pick<SessionOptions, 'threads'> {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError({ name: 'sessionOptions', expected: 'an object such as { threads: 4 }', actual: options });
  }
  const fromEnv = env.LATENTKIT_THREADS === undefined || env.LATENTKIT_THREADS === '' ? undefined : Number(env.LATENTKIT_THREADS);
  const threads = options.threads ?? fromEnv;
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) {
    throw new InvalidArgumentError({
      name: options.threads === undefined ? 'LATENTKIT_THREADS' : 'sessionOptions.threads',
      expected: 'a positive integer',
      actual: options.threads ?? env.LATENTKIT_THREADS,
      hint: 'leave it unset to let onnxruntime use every core',
    });
  }
  const executionProvider = options.executionProvider ?? 'cpu';
  if (!PROVIDERS.includes(executionProvider)) {
    throw new InvalidArgumentError({ name: 'sessionOptions.executionProvider', expected: "'cpu' or 'cuda'", actual: executionProvider });
  }
  const graphOptimizationLevel = options.graphOptimizationLevel ?? 'all';
  if (!LEVELS.includes(graphOptimizationLevel)) {
    throw new InvalidArgumentError({
      name: 'sessionOptions.graphOptimizationLevel',
      expected: LEVELS.map((l) => `'${l}'`).join(' | '),
      actual: graphOptimizationLevel,
    });
  }
  const prepackWeights = options.prepackWeights ?? false;
  if (typeof prepackWeights !== 'boolean') {
    throw new InvalidArgumentError({ name: 'sessionOptions.prepackWeights', expected: 'true or false', actual: prepackWeights });
  }
  return { threads, executionProvider, graphOptimizationLevel, prepackWeights };
}

/**
 * Converts latentkit session options to onnxruntime's. CUDA falls back to the CPU for operators
 * the CUDA provider lacks, as onnxruntime does when both are listed.
 *
 * @example
 * ```ts
 * import * as ort from 'onnxruntime-node';
 * const session = await ort.InferenceSession.create('unet/model.onnx', toOrtSessionOptions({ threads: 4 }));
 * ```
 */
export function toOrtSessionOptions(options: SessionOptions = {}): OrtSessionOptions {
  const resolved = resolveSessionOptions(options);
  return {
    executionProviders: resolved.executionProvider === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
    graphOptimizationLevel: resolved.graphOptimizationLevel,
    executionMode: 'sequential',
    ...(resolved.threads === undefined ? {} : { intraOpNumThreads: resolved.threads }),
    ...(resolved.prepackWeights ? {} : { extra: { session: { disable_prepacking: '1' } } }),
  };
}
