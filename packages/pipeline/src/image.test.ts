import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError, createTensor } from '@latentkit/core';
import { referencePath } from '@latentkit/testing';
import { assertImage, imageToTensor, maskToTensor, tensorToImages } from './image';

describe('image conversion', () => {
  it('maps 8-bit RGB to planar [-1, 1] (2·v/255 − 1 in float32), grey over all channels, alpha dropped', () => {
    const rgba = { width: 2, height: 1, channels: 4 as const, data: Uint8Array.from([0, 255, 51, 9, 255, 0, 102, 9]) };
    const tensor = imageToTensor(rgba);
    expect(tensor.dims).toEqual([1, 3, 1, 2]);
    expect([...tensor.data]).toEqual([-1, 1, 1, -1, Math.fround(2 * Math.fround(51 / 255)) - 1, Math.fround(2 * Math.fround(102 / 255)) - 1].map(Math.fround));
    const grey = imageToTensor({ width: 1, height: 1, channels: 1, data: Float32Array.from([0.25]) });
    expect([...grey.data]).toEqual([-0.5, -0.5, -0.5]);
  });

  it('binarises masks at 0.5 after PIL\'s luminance ((19595 R + 38470 G + 7471 B + 2¹⁵) >> 16)', () => {
    // (255, 0, 0) → L = 76 → 0; (0, 255, 0) → 150 → 1; (128, 128, 128) → 128 → 1; (127, 127, 127) → 0.
    const mask = { width: 4, height: 1, channels: 3 as const, data: Uint8Array.from([255, 0, 0, 0, 255, 0, 128, 128, 128, 127, 127, 127]) };
    expect([...maskToTensor(mask).data]).toEqual([0, 1, 1, 0]);
    expect([...maskToTensor({ width: 2, height: 1, channels: 1, data: Float32Array.from([0.5, 0.49]) }).data]).toEqual([1, 0]);
  });

  it('rejects malformed images with the field at fault', () => {
    expect(() => assertImage('image', { width: 2, height: 2, channels: 3, data: new Uint8Array(11) })).toThrow(/image.data must be 12 values \(2×2×3\)/);
    expect(() => assertImage('image', { width: 2.5, height: 2, channels: 3, data: new Uint8Array(15) })).toThrow(InvalidArgumentError);
    expect(() => assertImage('image', { width: 2, height: 2, channels: 3, data: [1, 2] })).toThrow(/Uint8Array \(0–255\) or a Float32Array/);
  });

  const tinySd = referencePath('tiny-sd');
  (tinySd ? it : it.skip)('post-processes the decoder output exactly as diffusers (clamp(x/2 + 0.5) in float32, HWC)', () => {
    const reference = JSON.parse(fs.readFileSync(path.join(tinySd!, 'txt2img_pndm.json'), 'utf8')) as { vae_decoder_output: number[]; image: number[] };
    const decoded = createTensor([1, 3, 32, 32], Float32Array.from(reference.vae_decoder_output));
    const [float] = tensorToImages(decoded, 'float');
    expect([...float!.data]).toEqual(reference.image.map(Math.fround));
    const [bytes] = tensorToImages(decoded, 'uint8');
    expect(bytes!.data).toBeInstanceOf(Uint8Array);
    bytes!.data.forEach((v, i) => expect(Math.abs(v - float!.data[i]! * 255)).toBeLessThanOrEqual(0.5));
  });
});
