import * as path from 'node:path';
import { describeUNetConformance, referencePath } from '@latentkit/testing';
import { OnnxUNet } from './index';

const tinySd = referencePath('tiny-sd', 'onnx');
if (tinySd) {
  describeUNetConformance('OnnxUNet on tiny-sd', () => OnnxUNet.fromPretrained(path.join(tinySd, 'unet'), { sessionOptions: { threads: 1 } }));
} else {
  console.warn('Skipping the UNet conformance suite: ../shared/reference/tiny-sd is absent (set LATENTKIT_SHARED)');
  describe.skip('unet conformance: OnnxUNet on tiny-sd', () => it('needs tiny-sd', () => undefined));
}
