import * as path from 'node:path';
import { createTensor } from '@latentkit/core';
import { openOnnxSession } from '@latentkit/onnx';
import { OnnxUNet } from './onnx-unet';

// A graph with a UNet's interface in float16 (see __fixtures__/make-fp16-unet.py): out = 2 · sample.
const MODEL = path.join(__dirname, '__fixtures__', 'fp16-io-unet.onnx');

describe('a float16 UNet graph', () => {
  it('takes float32 inputs converted to float16 and returns float32', async () => {
    const session = await openOnnxSession(MODEL, { threads: 1, optimizedModelCache: false });
    const unet = OnnxUNet.fromSession(session, MODEL, {});
    try {
      expect(unet.floatType).toBe('float16');
      expect(unet.timestepInput).toEqual({ type: 'float16', layout: 'batch' });
      expect([unet.inChannels, unet.crossAttentionDim]).toEqual([4, 8]);
      const sample = createTensor([2, 4, 2, 2], Float32Array.from({ length: 32 }, (_, i) => (i - 16) / 7));
      const states = createTensor([2, 77, 8], new Float32Array(2 * 77 * 8).fill(0.5));
      const out = await unet.predict({ sample, timestep: 981, encoderHiddenStates: states });
      expect(out.data).toBeInstanceOf(Float32Array);
      expect(out.dims).toEqual([2, 4, 2, 2]);
      // Tolerance: float16 keeps 11 significant bits, a relative error of at most 2^-11 (4.9e-4).
      out.data.forEach((value, i) => expect(Math.abs(value - 2 * sample.data[i]!)).toBeLessThanOrEqual(Math.abs(2 * sample.data[i]!) * 4.9e-4));
    } finally {
      await unet.dispose();
    }
  });
});
