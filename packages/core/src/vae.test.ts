import { createTensor } from './tensor';
import { scaleLatents, unscaleLatents, type Vae } from './vae';

const base = { specificationVersion: 'v1', latentChannels: 4, scaleFactor: 8, canEncode: true, encode: async () => createTensor([1], new Float32Array(1)), decode: async () => createTensor([1], new Float32Array(1)) } as const;

describe('latent scaling owned by the VAE', () => {
  const latents = createTensor([1, 2], Float32Array.from([1, -2]));

  it('a v1 VAE without the methods scales by its factors in float32: s·(z − shift), z/s + shift', () => {
    const vae: Vae = { ...base, scalingFactor: 0.5, shiftFactor: 0.25 };
    expect(Array.from(scaleLatents(vae, latents).data)).toEqual([0.375, -1.125]);
    expect(Array.from(unscaleLatents(vae, scaleLatents(vae, latents)).data)).toEqual([1, -2]);
  });

  it("a VAE's own scaleLatents/unscaleLatents win", () => {
    const vae: Vae = {
      ...base,
      scalingFactor: 1,
      shiftFactor: 0,
      scaleLatents: (z) => createTensor(z.dims, z.data.map((v) => v * 3)),
      unscaleLatents: (z) => createTensor(z.dims, z.data.map((v) => v / 3)),
    };
    expect(Array.from(scaleLatents(vae, latents).data)).toEqual([3, -6]);
    expect(Array.from(unscaleLatents(vae, latents).data)).toEqual([1 / 3, -2 / 3].map(Math.fround));
  });
});
