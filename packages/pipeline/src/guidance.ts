/**
 * Classifier-free guidance (Ho & Salimans 2022, eq. 6): ε̃ = ε(x, ∅) + w · (ε(x, c) − ε(x, ∅)).
 *
 * diffusers runs the unconditional and conditional halves as one batch of 2B (unconditional
 * first). Running them as two calls of B gives the same numbers with half the UNet activations in
 * memory at once, at the cost of less batching; {@link GuidanceMode} picks.
 */
import { concatBatch, createTensor, splitBatch, throwIfAborted, type Tensor, type UNet } from '@latentkit/core';

/** `'batched'`: one UNet call on 2B samples (as diffusers); `'sequential'`: two calls on B (half the memory). */
export type GuidanceMode = 'batched' | 'sequential';

/** One noise prediction with or without guidance. */
export interface GuidedPrediction {
  unet: UNet;
  /** The scaled model input `[B, C, h, w]` (already with any inpainting channels). */
  modelInput: Tensor<Float32Array>;
  timestep: number;
  /** `[2B, seq, D]` (unconditional first) with guidance, `[B, seq, D]` without. */
  embeddings: Tensor<Float32Array>;
  /** Guidance weight w; guidance runs when `guidance` is true. */
  guidanceScale: number;
  guidance: boolean;
  mode: GuidanceMode;
  signal?: AbortSignal;
  /** Receives the time spent in each UNet call (ms), for benchmarks. */
  onUNetCall?: (milliseconds: number) => void;
  /** Receives the time spent batching and combining for guidance (ms). */
  onGuidance?: (milliseconds: number) => void;
}

/**
 * Predicts the noise for one step, applying classifier-free guidance when asked.
 *
 * @example
 * ```ts
 * const noise = await predictGuidedNoise({ unet, modelInput, timestep: 981, embeddings, guidanceScale: 7.5, guidance: true, mode: 'sequential' });
 * ```
 */
export async function predictGuidedNoise(request: GuidedPrediction): Promise<Tensor<Float32Array>> {
  const { unet, modelInput, timestep, embeddings, signal } = request;
  const call = async (sample: Tensor<Float32Array>, encoderHiddenStates: Tensor<Float32Array>): Promise<Tensor<Float32Array>> => {
    const started = performance.now();
    const out = await unet.predict({ sample, timestep, encoderHiddenStates, signal });
    request.onUNetCall?.(performance.now() - started);
    return out;
  };
  const batch = modelInput.dims[0]!;
  // onnxruntime-node runs a session synchronously on the main thread and offers no way to stop a
  // run in progress (RunOptions.terminate is WebAssembly-only in 1.30), so an abort can only act
  // between calls. With a signal, every call is one sample of one guidance half: an abort then
  // waits for at most one such call, whatever the batch.
  if (signal && (batch > 1 || request.guidance)) return predictInSmallUnits(request, call);
  if (!request.guidance) return call(modelInput, embeddings);
  const [unconditionalStates, conditionalStates] = splitBatch(embeddings, 2) as [Tensor<Float32Array>, Tensor<Float32Array>];
  let unconditional: Tensor<Float32Array>;
  let conditional: Tensor<Float32Array>;
  if (request.mode === 'sequential') {
    unconditional = await call(modelInput, unconditionalStates);
    conditional = await call(modelInput, conditionalStates);
  } else {
    const batchStart = performance.now();
    const doubled = concatBatch([modelInput, modelInput]);
    request.onGuidance?.(performance.now() - batchStart);
    [unconditional, conditional] = splitBatch(await call(doubled, embeddings), 2) as [Tensor<Float32Array>, Tensor<Float32Array>];
  }
  const combineStart = performance.now();
  const guided = combineGuidance(unconditional, conditional, request.guidanceScale);
  request.onGuidance?.(performance.now() - combineStart);
  return guided;
}

/** One UNet call per sample and guidance half, checking the signal before each. */
async function predictInSmallUnits(
  request: GuidedPrediction,
  call: (sample: Tensor<Float32Array>, states: Tensor<Float32Array>) => Promise<Tensor<Float32Array>>,
): Promise<Tensor<Float32Array>> {
  const { modelInput, embeddings, signal } = request;
  const batch = modelInput.dims[0]!;
  const samples = batch === 1 ? [modelInput] : splitBatch(modelInput, batch);
  const states = splitBatch(embeddings, embeddings.dims[0]!);
  const outputs: Tensor<Float32Array>[] = [];
  for (let b = 0; b < batch; b++) {
    throwIfAborted(signal);
    if (!request.guidance) {
      outputs.push(await call(samples[b]!, states[b]!));
      continue;
    }
    const unconditional = await call(samples[b]!, states[b]!);
    throwIfAborted(signal);
    const conditional = await call(samples[b]!, states[batch + b]!);
    const combineStart = performance.now();
    outputs.push(combineGuidance(unconditional, conditional, request.guidanceScale));
    request.onGuidance?.(performance.now() - combineStart);
  }
  return outputs.length === 1 ? outputs[0]! : concatBatch(outputs);
}

/**
 * `uncond + w · (text − uncond)`, rounded to float32 after each operation as torch computes it,
 * so that the result matches diffusers bit for bit on the same inputs.
 */
export function combineGuidance(unconditional: Tensor<Float32Array>, conditional: Tensor<Float32Array>, guidanceScale: number): Tensor<Float32Array> {
  const u = unconditional.data;
  const c = conditional.data;
  const out = new Float32Array(u.length);
  const w = Math.fround(guidanceScale);
  for (let i = 0; i < out.length; i++) out[i] = u[i]! + Math.fround(w * Math.fround(c[i]! - u[i]!));
  return createTensor(unconditional.dims, out);
}
