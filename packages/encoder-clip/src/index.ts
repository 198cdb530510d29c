/**
 * @latentkit/encoder-clip — CLIP's tokenizer (id for id with HuggingFace) and the ONNX CLIP text
 * encoder of Stable Diffusion, as latentkit plugins.
 *
 * @packageDocumentation
 */
export * from './clip-vocabulary';
export * from './clip-tokenizer-json';
export * from './clip-tokenizer';
export * from './huggingface-tokenizer';
export * from './tokenizer-settings';
export * from './onnx-session';
export * from './onnx-initializers';
export * from './clip-final-layer-norm';
export * from './prompt-weighting';
export * from './clip-graph-interface';
export * from './clip-prompt-rows';
export * from './clip-text-encoder';
export * from './clip-plugins';
