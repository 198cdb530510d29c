/**
 * What a CLIP text-encoder graph takes and gives, read from the graph's own metadata: the dtype
 * of `input_ids` (int32 from diffusers' converter, int64 from optimum), an optional
 * `attention_mask`, the per-token output (`last_hidden_state`, or `hidden_states.N` for clip
 * skip), the pooled output (`pooler_output`, or `text_embeds` with a projection) and their widths.
 */
import type * as ort from 'onnxruntime-node';
import { InvalidArgumentError, ModelLoadError, type JsonObject } from '@latentkit/core';
import { readFinalLayerNorm, type LayerNormWeights } from './clip-final-layer-norm';

/** The interface of a CLIP text-encoder graph. */
export interface ClipGraphInterface {
  readonly inputIdsType: 'int32' | 'int64';
  readonly hasAttentionMask: boolean;
  /** The sequence length the graph was exported with, when it is fixed (not a symbolic axis). */
  readonly fixedSequenceLength?: number;
  /** The output read as per-token states. */
  readonly statesOutput: string;
  readonly pooledOutput?: string;
  readonly hiddenSize: number;
  readonly pooledSize?: number;
  /** CLIP's final layer norm, to apply to `hidden_states.N` when clip skip is on. */
  readonly finalLayerNorm?: LayerNormWeights;
}

/**
 * Describes graph inputs or outputs for messages.
 *
 * @example
 * ```ts
 * describeGraphValues(session.inputMetadata); // 'input_ids int32 [?, ?]'
 * ```
 */
export function describeGraphValues(metadata: readonly ort.InferenceSession.ValueMetadata[]): string {
  return metadata
    .map((m) => (m.isTensor ? `${m.name} ${m.type} [${m.shape.map((d) => (typeof d === 'number' ? d : '?')).join(', ')}]` : m.name))
    .join(', ');
}

/**
 * Reads the interface of a loaded CLIP text-encoder session; `clipSkip` > 0 picks
 * `hidden_states.(layers − clipSkip)` and reads the final layer norm's weights from `modelFile`.
 *
 * @example
 * ```ts
 * const graph = await readClipGraphInterface(session, { modelFile, config, clipSkip: 1 });
 * graph.statesOutput; // 'hidden_states.11' for SD 1.x's 12 layers
 * ```
 */
export async function readClipGraphInterface(
  session: ort.InferenceSession,
  { modelFile, config, clipSkip }: { modelFile: string; config: JsonObject; clipSkip: number },
): Promise<ClipGraphInterface> {
  const inputs = new Map(session.inputMetadata.map((m) => [m.name, m]));
  const idsInput = inputs.get('input_ids');
  const inputIdsType = idsInput && idsInput.isTensor ? idsInput.type : undefined;
  if (inputIdsType !== 'int32' && inputIdsType !== 'int64') {
    throw new ModelLoadError({
      path: modelFile,
      reason: `a CLIP text encoder needs an int32 or int64 input 'input_ids'; the graph's inputs are ${describeGraphValues(session.inputMetadata)}`,
    });
  }
  const shapes = new Map(session.outputMetadata.map((m) => [m.name, m.isTensor ? m.shape : []]));
  const widthOf = (name: string) => {
    const shape = shapes.get(name) ?? [];
    const last = shape[shape.length - 1];
    return typeof last === 'number' ? last : undefined;
  };
  const lastHidden = shapes.has('last_hidden_state') ? 'last_hidden_state' : session.outputNames.find((n) => shapes.get(n)?.length === 3);
  if (!lastHidden) {
    throw new ModelLoadError({
      path: modelFile,
      reason:
        `no per-token output [batch, sequence, width] (outputs: ${describeGraphValues(session.outputMetadata)}): ` +
        "the UNet's cross-attention needs one vector per token, so an encoder with only a pooled output cannot be used",
    });
  }
  const pooledOutput = ['pooler_output', 'text_embeds'].find((n) => shapes.has(n));

  let statesOutput = lastHidden;
  let finalLayerNorm: LayerNormWeights | undefined;
  if (clipSkip > 0) {
    const layerIndices = session.outputNames
      .map((n) => /^hidden_states\.(\d+)$/.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]));
    // hidden_states.0 is the embeddings, hidden_states.L the last layer's output (before the final norm).
    const layers = layerIndices.length ? Math.max(...layerIndices) : 0;
    if (layers - clipSkip < 1 || !layerIndices.includes(layers - clipSkip)) {
      throw new InvalidArgumentError({
        name: 'clipSkip',
        expected: layers > 0 ? `an integer from 0 to ${layers - 1} for this ${layers}-layer export` : '0 for this export',
        actual: clipSkip,
        hint: layers > 0 ? undefined : 're-export the text encoder with output_hidden_states=True (outputs hidden_states.0 … hidden_states.N) to use clip skip',
      });
    }
    statesOutput = `hidden_states.${layers - clipSkip}`;
    finalLayerNorm = await readFinalLayerNorm(modelFile, config);
  }

  const hiddenSize = widthOf(statesOutput) ?? (typeof config.hidden_size === 'number' ? config.hidden_size : undefined);
  if (hiddenSize === undefined) {
    throw new ModelLoadError({
      path: modelFile,
      reason: `the width of '${statesOutput}' is symbolic and config.json has no hidden_size: add "hidden_size" to config.json`,
    });
  }
  const configPooled = pooledOutput === 'text_embeds' && typeof config.projection_dim === 'number' ? config.projection_dim : hiddenSize;
  const pooledSize = pooledOutput ? widthOf(pooledOutput) ?? configPooled : undefined;
  const sequenceAxis = idsInput && idsInput.isTensor ? idsInput.shape[1] : undefined;
  const fixedSequenceLength = typeof sequenceAxis === 'number' ? sequenceAxis : undefined;
  return { inputIdsType, hasAttentionMask: inputs.has('attention_mask'), fixedSequenceLength, statesOutput, pooledOutput, hiddenSize, pooledSize, finalLayerNorm };
}
