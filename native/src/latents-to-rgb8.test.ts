import { addonLoadResult } from './load-addon';
import { latentsToRgb8, latentsToRgb8Js } from './latents-to-rgb8';
import { randomArray, sameBits, seededRandom } from './__fixtures__/attention-reference';
import { readReference } from './__fixtures__/shared-reference';

const { addon } = addonLoadResult();

describe('latentsToRgb8', () => {
  test('clamp(x/2 + 0.5)·255, rounded half to even, NCHW → NHWC', () => {
    // One pixel per column: −1 → 0, 1 → 255, 0 → 127.5 → 128 (the tie goes to even), NaN → 0,
    // out of range clamps. G holds −x.
    const values = [-1, 1, 0, -0.99, 0.5, NaN, 5, -5];
    const width = values.length;
    const image = new Float32Array(3 * width);
    values.forEach((v, x) => {
      image[x] = v; // R
      image[width + x] = -v; // G
      image[2 * width + x] = 0; // B
    });
    const rgb = latentsToRgb8(image, { batch: 1, height: 1, width });
    expect(Array.from({ length: width }, (_, x) => rgb[x * 3])).toEqual([0, 255, 128, 1, 191, 0, 255, 0]);
    expect(Array.from({ length: width }, (_, x) => rgb[x * 3 + 1])).toEqual([255, 0, 128, 254, 64, 0, 0, 255]);
    expect(Array.from({ length: width }, (_, x) => rgb[x * 3 + 2])).toEqual(new Array(width).fill(128));
  });

  (addon ? test : test.skip)('native kernel and TypeScript twin give identical bytes', () => {
    const random = seededRandom(3);
    for (const [batch, height, width] of [[1, 1, 1], [2, 17, 9], [1, 300, 301]] as const) {
      const image = randomArray(batch * 3 * height * width, random, 1.2);
      const native = addon!.latentsToRgb8(image, new Uint8Array(image.length).fill(77), batch, height, width);
      const twin = new Uint8Array(image.length);
      latentsToRgb8Js(image, twin, batch, height, width);
      expect(sameBits(native, twin)).toBe(true);
    }
  });

  // diffusers' StableDiffusionPipeline output for the tiny model: `image` is clamp(decoded/2 + 0.5)
  // as float32 [1, 32, 32, 3]; numpy_to_pil then takes round(image·255). Exact match expected.
  const pipeline = readReference<{ vae_decoder_output?: number[]; decoded?: number[]; image: number[] }>('tiny-sd/txt2img_pndm.json');
  (pipeline ? test : test.skip)('matches diffusers on the tiny-sd txt2img output, byte for byte', () => {
    const decoded = pipeline!.vae_decoder_output ?? pipeline!.decoded;
    expect(decoded).toBeDefined();
    const rgb = latentsToRgb8(Float32Array.from(decoded!), { batch: 1, height: 32, width: 32 });
    const expected = Uint8Array.from(pipeline!.image, (v) => {
      const scaled = Math.fround(Math.fround(v) * 255);
      const floor = Math.floor(scaled);
      return scaled - floor > 0.5 || (scaled - floor === 0.5 && floor % 2 === 1) ? floor + 1 : floor;
    });
    expect(Array.from(rgb)).toEqual(Array.from(expected));
  });
});
