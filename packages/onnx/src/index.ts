/**
 * @latentkit/onnx — opening onnxruntime-node sessions with latentkit's session options and errors,
 * and reading what a graph declares about its inputs and outputs.
 *
 * @packageDocumentation
 */
export { openOnnxSession, toOnnxRuntimeOptions, type OnnxSessionOptions } from './onnx-session';
export { resolveOnnxComponent, withOnnxSession, type OnnxComponentFolder } from './onnx-component';
export { describeInputs, describeOutputs, fixedDimension, declaredShape, type OnnxValueInfo } from './onnx-metadata';
export * from './protobuf-fields';
export * from './optimized-model-cache';
