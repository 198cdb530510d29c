/**
 * The VAE decoder's output, `[batch, 3, height, width]` in [−1, 1], to interleaved 8-bit RGB
 * `[batch, height, width, 3]`: `round(clamp(x/2 + 0.5, 0, 1) · 255)` in float32 with
 * round-half-even — bit for bit what diffusers' `image_processor` + `numpy_to_pil` produce.
 * NaN becomes 0.
 */
import { requireArray, requireInteger, requireLength, sharesMemory } from './argument-checks';
import { nativeAddon } from './load-addon';

/** Arguments of {@link latentsToRgb8} besides the image. */
export interface LatentsToRgb8Options {
  batch: number;
  height: number;
  width: number;
  /** Where to write `batch·height·width·3` bytes; default a new Uint8Array. */
  out?: Uint8Array;
}

/**
 * Converts decoded latents (the VAE decoder's output) to RGB bytes, ready for sharp or a PNG encoder.
 *
 * @example
 * ```ts
 * import { latentsToRgb8 } from '@latentkit/native';
 * const decoded = new Float32Array(1 * 3 * 512 * 512); // vae.decode(latents / 0.18215)
 * const rgb = latentsToRgb8(decoded, { batch: 1, height: 512, width: 512 });
 * // sharp(Buffer.from(rgb.buffer), { raw: { width: 512, height: 512, channels: 3 } }).png()
 * ```
 */
export function latentsToRgb8(image: Float32Array, options: LatentsToRgb8Options): Uint8Array {
  const f = 'latentsToRgb8';
  requireArray(f, 'image', image, Float32Array);
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${f}: options must be an object { batch, height, width, out? }`);
  }
  const batch = requireInteger(f, 'batch', options.batch, 1, 2 ** 31);
  const height = requireInteger(f, 'height', options.height, 1, 2 ** 31);
  const width = requireInteger(f, 'width', options.width, 1, 2 ** 31);
  const elements = batch * 3 * height * width;
  requireLength(f, 'image', image, elements, 'batch·3·height·width');
  const output = options.out === undefined ? new Uint8Array(elements) : requireArray(f, 'out', options.out, Uint8Array);
  requireLength(f, 'output', output, elements, 'batch·height·width·3');
  if (sharesMemory(image, output)) throw new RangeError(`${f}: output shares memory with image`);
  const addon = nativeAddon();
  if (addon !== undefined) return addon.latentsToRgb8(image, output, batch, height, width);
  latentsToRgb8Js(image, output, batch, height, width);
  return output;
}

/**
 * The TypeScript twin: float32 arithmetic via Math.fround, round half to even; no checks.
 *
 * @example
 * ```ts
 * const rgb = new Uint8Array(3 * 64 * 64);
 * latentsToRgb8Js(decoded, rgb, 1, 64, 64);
 * ```
 */
export function latentsToRgb8Js(image: Float32Array, output: Uint8Array, batch: number, height: number, width: number): void {
  const plane = height * width;
  for (let b = 0; b < batch; b++) {
    for (let offset = 0; offset < plane; offset++) {
      const pixel = b * plane + offset;
      for (let channel = 0; channel < 3; channel++) {
        let unit = Math.fround(Math.fround(image[(b * 3 + channel) * plane + offset]! * 0.5) + 0.5);
        if (!(unit >= 0)) unit = 0;
        if (unit > 1) unit = 1;
        const scaled = Math.fround(unit * 255);
        const floor = Math.floor(scaled);
        const fraction = scaled - floor;
        output[pixel * 3 + channel] = fraction > 0.5 || (fraction === 0.5 && floor % 2 === 1) ? floor + 1 : floor;
      }
    }
  }
}
