import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { modelPath, textEncoders } from './index';

describe('@latentkit/model-tiny', () => {
  it('points at the model folder inside the package', () => {
    expect(path.basename(modelPath)).toBe('model');
    expect(path.dirname(modelPath)).toBe(path.resolve(__dirname, '..'));
  });

  const hasModel = existsSync(path.join(modelPath, 'model_index.json'));
  (hasModel ? it : it.skip)('ships every folder model_index.json names', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const index = require(path.join(modelPath, 'model_index.json')) as Record<string, unknown>;
    for (const { encoder, tokenizer } of Object.values(textEncoders)) {
      expect(index[encoder]).toEqual(['diffusers', 'OnnxRuntimeModel']);
      expect(existsSync(path.join(modelPath, encoder, 'model.onnx'))).toBe(true);
      expect(existsSync(path.join(modelPath, tokenizer))).toBe(true);
    }
    for (const slot of ['unet', 'vae_encoder', 'vae_decoder']) {
      expect(existsSync(path.join(modelPath, slot, 'model.onnx'))).toBe(true);
      expect(existsSync(path.join(modelPath, slot, 'config.json'))).toBe(true);
    }
  });
});
