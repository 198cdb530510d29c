/**
 * @latentkit/onnx — opening onnxruntime-node sessions with latentkit's session options and errors,
 * reading what a graph declares about its inputs and outputs, and latentkit's one ONNX protobuf
 * reader and writer (onnxruntime is loaded only when a session is opened).
 *
 * @packageDocumentation
 */
export { openOnnxSession, openOnnxSessionWithWeights, toOnnxRuntimeOptions, type OnnxSessionOptions } from './onnx-session';
export { resolveOnnxComponent, withOnnxSession, type OnnxComponentFolder } from './onnx-component';
export { ReleasableSession } from './releasable-session';
export { describeInputs, describeOutputs, fixedDimension, declaredShape, type OnnxValueInfo } from './onnx-metadata';
export { ByteRange, FileSource, memorySource, type ByteSource } from './byte-source';
export { ProtobufReader, readProtobufFields, readVarint, protobufText, type ProtobufField } from './protobuf-reader';
export { ProtobufWriter } from './protobuf-writer';
export * from './onnx-model';
export { decodeOnnxModel, decodeOnnxModelFrom, readOnnxModelFile } from './onnx-model-reader';
export { encodeOnnxModel, encodeGraph, encodeNode, encodeTensor, encodeValueInfo, writeOnnxModelFile, writeOnnxModelWithExternalData } from './onnx-model-writer';
export { graphDimensions, readGraphDimensions, type GraphDimensions, type GraphRole } from './graph-dimensions';
export {
  componentRole,
  componentsToCheck,
  declaredDimensions,
  type CheckSelection,
  type ComponentRole,
  type DeclaredCheck,
  type DeclaredDimensions,
  type DeclaredDimensionsOptions,
  type DimensionSource,
} from './declared-dimensions';
export * from './optimized-model-cache';
export { float32ToFloat16, float16ToFloat32, floatFeed, floatOutput } from './float16';
