/**
 * Runs a partitioned UNet: onnxruntime sessions for the segments, `@latentkit/native`'s fused
 * attention between them. Tensors pass between steps as onnxruntime's own output buffers (no
 * per-element JavaScript work), and each is dropped after its last reader, so peak memory is
 * the largest segment's working set plus the tensors crossing it — never an attention score matrix.
 */
import * as ort from 'onnxruntime-node';
import { InvalidArgumentError, ModelLoadError, throwIfAborted } from '@latentkit/core';
import { float16ToFloat32, float32ToFloat16, multiHeadAttention, multiHeadAttentionAsync, type MultiHeadAttentionOptions } from '@latentkit/native';
import type { AttentionMatch } from './attention-pattern';
import type { PartitionStep } from './attention-partition';

/**
 * Below this many multiply-adds (Q·Kᵀ and P·V, about a millisecond of kernel time) the
 * attention runs synchronously: handing a tiny call to the libuv pool and back costs more than
 * the call (measured 5–10 ms per call on a loaded 2-core machine, for 0.1 ms of work).
 */
const SYNC_WORK = 2 ** 22;

/**
 * Fused attention, on the event loop for tiny calls and off it otherwise.
 *
 * @example
 * ```ts
 * const out = await attention(q, k, v, { batch: 2, heads: 8, headDim: 40 });
 * ```
 */
export function attention(query: Float32Array, key: Float32Array, value: Float32Array, options: MultiHeadAttentionOptions): Promise<Float32Array> | Float32Array {
  const work = 2 * (query.length / options.headDim) * (key.length / (options.batch * options.heads * options.headDim)) * options.headDim;
  return work < SYNC_WORK ? multiHeadAttention(query, key, value, options) : multiHeadAttentionAsync(query, key, value, options);
}

/** What an attention processor sees for one call (see attention-processors.ts). */
export interface AttentionCallContext {
  /** Index of the attention layer in graph order. */
  readonly layer: number;
  readonly match: AttentionMatch;
  readonly batch: number;
  readonly queryLength: number;
  readonly keyLength: number;
  readonly headDim: number;
  readonly scale: number;
}

/** Replaces or observes one attention call; returns the output `[batch, Nq, heads·headDim]`, or undefined to run the kernel. */
export type AttentionHook = (
  context: AttentionCallContext,
  query: Float32Array, key: Float32Array, value: Float32Array,
) => Promise<Float32Array | undefined> | Float32Array | undefined;

/** Time spent per kind of step in the last run (for benchmarks). */
export interface SegmentedRunTimings {
  onnxruntimeMs: number;
  attentionMs: number;
}

/**
 * A UNet graph split around its attention calls.
 *
 * @example
 * ```ts
 * const run = new SegmentedSession(sessions, partition.steps, partition.attention, partition.outputs, 'unet/model.onnx');
 * const outputs = await run.run({ sample, timestep, encoder_hidden_states });
 * ```
 */
export class SegmentedSession {
  private readonly lastReader = new Map<string, number>();
  /** Timings of the last {@link run}. */
  readonly timings: SegmentedRunTimings = { onnxruntimeMs: 0, attentionMs: 0 };

  constructor(
    private readonly sessions: readonly ort.InferenceSession[],
    private readonly steps: readonly PartitionStep[],
    readonly attention: readonly AttentionMatch[],
    readonly outputNames: readonly string[],
    private readonly modelFile: string,
    /** Called once the sessions are released (ends the UNet's hold on freed C-heap memory). */
    private readonly onDispose: () => void = () => undefined,
  ) {
    steps.forEach((step, at) => {
      const reads = step.kind === 'segment' ? step.inputs : [attention[step.attention]!.query, attention[step.attention]!.key, attention[step.attention]!.value];
      for (const tensor of reads) this.lastReader.set(tensor, at);
    });
    for (const output of outputNames) this.lastReader.set(output, Infinity);
  }

  /** Runs every step; `hook` may observe or replace attention calls. */
  async run(feeds: Record<string, ort.Tensor>, options: { signal?: AbortSignal; hook?: AttentionHook } = {}): Promise<Record<string, ort.Tensor>> {
    const { signal, hook } = options;
    const values = new Map<string, ort.Tensor>(Object.entries(feeds));
    this.timings.onnxruntimeMs = 0;
    this.timings.attentionMs = 0;
    for (let at = 0; at < this.steps.length; at++) {
      throwIfAborted(signal);
      const step = this.steps[at]!;
      const started = performance.now();
      if (step.kind === 'segment') {
        const stepFeeds: Record<string, ort.Tensor> = {};
        for (const input of step.inputs) stepFeeds[input] = this.take(values, input, at);
        this.release(values, step.inputs, at);
        const results = await this.sessions[step.segment]!.run(stepFeeds);
        for (const output of step.outputs) values.set(output, results[output]!);
        this.timings.onnxruntimeMs += performance.now() - started;
      } else {
        const match = this.attention[step.attention]!;
        const query = this.take(values, match.query, at);
        const key = this.take(values, match.key, at);
        const value = this.take(values, match.value, at);
        this.release(values, [match.query, match.key, match.value], at);
        values.set(match.output, await this.attend(step.attention, match, query, key, value, hook));
        this.timings.attentionMs += performance.now() - started;
      }
    }
    throwIfAborted(signal);
    const out: Record<string, ort.Tensor> = {};
    for (const name of this.outputNames) out[name] = values.get(name)!;
    return out;
  }

  private take(values: Map<string, ort.Tensor>, tensor: string, at: number): ort.Tensor {
    const value = values.get(tensor);
    if (value === undefined) throw new ModelLoadError({ path: this.modelFile, reason: `the partitioned UNet lost tensor '${tensor}' before step ${at}: load it with attention: 'onnxruntime' and report this model` });
    return value;
  }

  /** Drops the tensors whose last reader was step `at`, so that their memory can be reclaimed. */
  private release(values: Map<string, ort.Tensor>, reads: readonly string[], at: number): void {
    for (const tensor of reads) if (this.lastReader.get(tensor) === at) values.delete(tensor);
  }

  private async attend(layer: number, match: AttentionMatch, query: ort.Tensor, key: ort.Tensor, value: ort.Tensor, hook: AttentionHook | undefined): Promise<ort.Tensor> {
    const [batch, queryLength, width] = query.dims as number[];
    const keyLength = key.dims[1]!;
    if (query.dims.length !== 3 || key.dims.length !== 3 || value.dims.length !== 3 || width! % match.heads !== 0 || key.dims[2] !== width || key.dims[0] !== batch) {
      throw new InvalidArgumentError({
        name: `attention '${match.name}'`,
        expected: `Q [batch, Nq, heads·headDim] and K, V [batch, Nk, heads·headDim] with ${match.heads} heads`,
        actual: { query: query.dims, key: key.dims, value: value.dims },
        hint: "load the UNet with attention: 'onnxruntime' and report this model",
      });
    }
    const headDim = width! / match.heads;
    const scale = match.scale ?? 1 / Math.sqrt(headDim);
    // A float16 graph (onnxruntime-node carries float16 as Uint16Array bits): the kernel and the
    // processors work in float32 on the exact values, and the output is rounded once to float16.
    const type = query.type;
    if ((type !== 'float32' && type !== 'float16') || key.type !== type || value.type !== type) {
      throw new InvalidArgumentError({
        name: `attention '${match.name}'`,
        expected: 'Q, K and V all float32 or all float16',
        actual: { query: query.type, key: key.type, value: value.type },
        hint: "load the UNet with attention: 'onnxruntime' and report this model",
      });
    }
    const asFloat32 = (tensor: ort.Tensor): Float32Array => (type === 'float16' ? float16ToFloat32(tensor.data as Uint16Array) : tensor.data as Float32Array);
    const q = asFloat32(query);
    const k = key === query ? q : asFloat32(key);
    const v = value === key ? k : asFloat32(value);
    const context: AttentionCallContext = { layer, match, batch: batch!, queryLength: queryLength!, keyLength, headDim, scale };
    const replaced = hook ? await hook(context, q, k, v) : undefined;
    const out = replaced ?? await attention(q, k, v, { batch: batch!, heads: match.heads, headDim, scale });
    const dims = [batch!, queryLength!, width!];
    return type === 'float16' ? new ort.Tensor('float16', float32ToFloat16(out), dims) : new ort.Tensor('float32', out, dims);
  }

  /** Releases every segment session. */
  async dispose(): Promise<void> {
    try {
      for (const session of this.sessions) await session.release();
    } finally {
      this.onDispose();
    }
  }
}
