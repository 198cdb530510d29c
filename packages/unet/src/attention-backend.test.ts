/**
 * Without the addon (or with LATENTKIT_NATIVE=0, which makes @latentkit/native report no addon)
 * the UNet keeps attention in onnxruntime by default.
 */
import { modelPath } from '@latentkit/model-tiny';

jest.mock('@latentkit/native', () => ({ ...jest.requireActual('@latentkit/native'), isNative: () => false }));

import { OnnxUNet, resolveAttentionBackend } from './index';

describe('the attention backend without the addon', () => {
  it("defaults to 'onnxruntime' (the whole graph in one session); 'native' can still be asked for", async () => {
    expect(resolveAttentionBackend(undefined)).toBe('onnxruntime');
    expect(resolveAttentionBackend('native')).toBe('native');
    const unet = await OnnxUNet.fromPretrained(modelPath, { sessionOptions: { threads: 1 } });
    expect(unet.attentionBackend).toBe('onnxruntime');
    await unet.dispose();
  });
});
