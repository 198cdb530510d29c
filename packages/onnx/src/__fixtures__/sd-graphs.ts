/**
 * Skeleton graphs shaped like diffusers-converter exports of Stable Diffusion parts: the values
 * and weights the dimension reader looks at, with the converter's dynamic axes. They are for
 * reading, not running (the weights are external references to files that need not exist).
 */
import { OnnxDataType, type OnnxModel, type OnnxNode, type OnnxTensor } from '../onnx-model';
import { floatValue, modelOf, type Dimension } from './identity-model';

/** A weight stored in `weights.pb` (never read by the dimension reader). */
function externalWeight(name: string, dims: number[]): OnnxTensor {
  return {
    name,
    dataType: OnnxDataType.FLOAT,
    dims,
    externalData: [
      { key: 'location', value: 'weights.pb' },
      { key: 'offset', value: '0' },
      { key: 'length', value: String(4 * dims.reduce((a, b) => a * b, 1)) },
    ],
    dataLocation: 1,
  };
}

const node = (opType: string, inputs: string[], outputs: string[], name = ''): OnnxNode => ({ name, opType, domain: '', inputs, outputs, attributes: [] });

/** A UNet: `sample` channels dynamic (as the converter leaves them), conv_in/conv_out and one cross-attention key. */
export function converterUNet(inChannels: number, outChannels: number, crossAttentionDim: number, width = 320): OnnxModel {
  return modelOf({
    nodes: [
      node('Conv', ['sample', 'conv_in.weight'], ['h'], '/conv_in/Conv'),
      node('MatMul', ['encoder_hidden_states', 'onnx::MatMul_9'], ['k']),
      node('Conv', ['h', 'conv_out.weight'], ['out_sample'], '/conv_out/Conv'),
    ],
    initializers: [
      externalWeight('conv_in.weight', [width, inChannels, 3, 3]),
      externalWeight('onnx::MatMul_9', [crossAttentionDim, width]),
      externalWeight('conv_out.weight', [outChannels, width, 3, 3]),
    ],
    inputs: [floatValue('sample', ['batch', 'channels', 'height', 'width']), floatValue('timestep', ['batch']), floatValue('encoder_hidden_states', ['batch', 'sequence', 'hidden'])],
    outputs: [floatValue('out_sample', ['batch', 'channels', 'height', 'width'])],
  });
}

/** A VAE decoder: `latent_sample` dynamic, post_quant_conv, and `upsamplings` Resize stages. */
export function converterVaeDecoder(latentChannels: number, upsamplings: number): OnnxModel {
  const resizes = Array.from({ length: upsamplings }, (_, i) => node('Resize', [i === 0 ? 'z' : `up${i - 1}`, '', 'scales'], [`up${i}`]));
  return modelOf({
    nodes: [node('Conv', ['latent_sample', 'post_quant_conv.weight'], ['z']), ...resizes, node('Identity', [`up${upsamplings - 1}`], ['sample'])],
    initializers: [externalWeight('post_quant_conv.weight', [latentChannels, latentChannels, 1, 1])],
    inputs: [floatValue('latent_sample', ['batch', 'channels', 'height', 'width'])],
    outputs: [floatValue('sample', ['batch', 3, 'height', 'width'])],
  });
}

/** A CLIP-like text encoder: position table `[positions, width]`, states produced by the final norm's bias Add. */
export function converterTextEncoder(width: number, positions: number, statesShape: Dimension[] = ['batch', 'sequence', 'hidden']): OnnxModel {
  return modelOf({
    nodes: [
      node('Gather', ['text_model.embeddings.position_embedding.weight', 'position_ids'], ['p']),
      node('Add', ['p', 'text_model.final_layer_norm.bias'], ['last_hidden_state']),
    ],
    initializers: [externalWeight('text_model.embeddings.position_embedding.weight', [positions, width]), externalWeight('text_model.final_layer_norm.bias', [width])],
    inputs: [{ name: 'input_ids', tensorType: { elemType: OnnxDataType.INT64, shape: ['batch', 'sequence'] } }],
    outputs: [floatValue('last_hidden_state', statesShape)],
  });
}
