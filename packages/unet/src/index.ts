/**
 * @latentkit/unet — Stable Diffusion UNets exported to ONNX (diffusers layout), run with
 * onnxruntime-node, with attention in `@latentkit/native`'s fused kernel where the addon loads.
 *
 * @packageDocumentation
 */
export { OnnxUNet, resolveAttentionBackend, timestepFormatOf, timestepTensor, type AttentionBackend, type OnnxUNetOptions, type TimestepFormat } from './onnx-unet';
export { onnxUNetPlugin, register } from './unet-plugin';
export { findAttention, type AttentionMatch } from './attention-pattern';
export { partitionAroundAttention, type AttentionPartition, type PartitionStep } from './attention-partition';
export { attentionCacheRoot, cachedPartition, openPartitionSessions, type CachedPartition } from './attention-cache';
export { SegmentedSession, type AttentionCallContext, type AttentionHook, type SegmentedRunTimings } from './segmented-session';
export {
  CrossAttentionMaps,
  processorHook,
  reweightTokens,
  type AttentionCall,
  type AttentionProcessor,
  type ReweightOptions,
  type TokenAttentionMaps,
} from './attention-processors';
export { decodeModel, type DecodedModel, type GraphNode } from './onnx-graph-codec';
export { openOnnxSession, describeInputs, describeOutputs, fixedDimension, type OnnxValueInfo } from '@latentkit/onnx';
