import * as os from 'node:os';
import * as path from 'node:path';
import { existsSync, promises as fs } from 'node:fs';
import { ModelLoadError } from '@latentkit/core';
import { graphDimensions, readGraphDimensions } from './graph-dimensions';
import { writeOnnxModelFile } from './onnx-model-writer';
import { converterTextEncoder, converterUNet, converterVaeDecoder } from './__fixtures__/sd-graphs';

const repo = path.resolve(__dirname, '../../..');
const modelTiny = path.join(repo, 'packages/model-tiny/model');
const tinySd = path.resolve(repo, '../shared/reference/tiny-sd/onnx');
const describeTinySd = existsSync(tinySd) ? describe : describe.skip;
if (!existsSync(tinySd)) console.warn(`skipping the tiny-sd graph dimensions: ${tinySd} is absent (the shared reference models)`);

describe('graphDimensions on converter-shaped graphs (dynamic axes)', () => {
  it('reads UNet channels from conv_in/conv_out weights and the cross-attention width from the key weight', () => {
    expect(graphDimensions(converterUNet(4, 4, 768), 'unet')).toEqual({ inChannels: 4, outChannels: 4, crossAttentionDim: 768 });
    expect(graphDimensions(converterUNet(9, 4, 1024), 'unet')).toEqual({ inChannels: 9, outChannels: 4, crossAttentionDim: 1024 });
  });

  it("reads the VAE decoder's latent channels from its first Conv and its scale factor from its upsampling stages", () => {
    expect(graphDimensions(converterVaeDecoder(4, 3), 'vae-decoder')).toEqual({ latentChannels: 4, scaleFactor: 8 });
    expect(graphDimensions(converterVaeDecoder(16, 3), 'vae-decoder')).toEqual({ latentChannels: 16, scaleFactor: 8 });
  });

  it("reads the text encoder's width from the final norm and its positions from the position table", () => {
    expect(graphDimensions(converterTextEncoder(1024, 77), 'text-encoder')).toEqual({ hiddenSize: 1024, maxPositions: 77 });
    // A declared last axis wins over the weights.
    expect(graphDimensions(converterTextEncoder(1024, 77, ['batch', 77, 768]), 'text-encoder')).toEqual({ hiddenSize: 768, maxPositions: 77 });
  });

  it('reads a file without its external weights, and names a file that is not a model', async () => {
    const folder = await fs.mkdtemp(path.join(os.tmpdir(), 'latentkit-graph-dims-'));
    try {
      const file = path.join(folder, 'model.onnx');
      writeOnnxModelFile(file, converterUNet(4, 4, 768)); // weights.pb is never written
      expect(readGraphDimensions(file, 'unet')).toEqual({ inChannels: 4, outChannels: 4, crossAttentionDim: 768 });
      await fs.writeFile(file, 'not a model');
      expect(() => readGraphDimensions(file, 'unet')).toThrow(ModelLoadError);
    } finally {
      await fs.rm(folder, { recursive: true, force: true });
    }
  });
});

describe('graphDimensions on the bundled model (declared shapes fixed)', () => {
  it.each([
    ['unet', 'unet', { inChannels: 4, outChannels: 4, crossAttentionDim: 128, sampleSize: 16 }],
    ['vae_decoder', 'vae-decoder', { latentChannels: 4, scaleFactor: 4 }],
    ['vae_encoder', 'vae-encoder', { latentChannels: 4, scaleFactor: 4 }],
    ['text_encoder', 'text-encoder', { hiddenSize: 128, maxPositions: 77 }],
    ['text_encoder_multilingual', 'text-encoder', { hiddenSize: 128, maxPositions: 77 }],
  ] as const)('%s', (slot, role, expected) => {
    expect(readGraphDimensions(path.join(modelTiny, slot, 'model.onnx'), role)).toEqual(expected);
  });
});

describeTinySd('graphDimensions on tiny-sd (exported by diffusers, dynamic sample channels, UNet weights in weights.pb)', () => {
  it.each([
    ['unet', 'unet', { inChannels: 4, outChannels: 4, crossAttentionDim: 32 }],
    ['vae_decoder', 'vae-decoder', { latentChannels: 4, scaleFactor: 2 }],
    ['vae_encoder', 'vae-encoder', { latentChannels: 4, scaleFactor: 2 }],
    ['text_encoder', 'text-encoder', { hiddenSize: 32, maxPositions: 77 }],
  ] as const)('%s agrees with its config.json', (slot, role, expected) => {
    expect(readGraphDimensions(path.join(tinySd, slot, 'model.onnx'), role)).toEqual(expected);
  });
});
