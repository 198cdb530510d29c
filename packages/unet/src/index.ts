/**
 * @latentkit/unet — Stable Diffusion UNets exported to ONNX (diffusers layout), run with onnxruntime-node.
 *
 * @packageDocumentation
 */
export { OnnxUNet, timestepFormatOf, timestepTensor, type OnnxUNetOptions, type TimestepFormat } from './onnx-unet';
export { onnxUNetPlugin, register } from './unet-plugin';
export { openOnnxSession, describeInputs, describeOutputs, fixedDimension, type OnnxValueInfo } from '@latentkit/onnx';
