/**
 * Images in and out of the pipeline: interleaved (HWC) pixels as sharp and canvases give them,
 * converted to and from the VAE's planar [-1, 1] tensors exactly as diffusers'
 * `VaeImageProcessor` does (float32 arithmetic; 8-bit output through `@latentkit/native`'s `latentsToRgb8`).
 */
import { InvalidArgumentError, createTensor, describeValue, type Tensor } from '@latentkit/core';
import { latentsToRgb8 } from '@latentkit/native';

/** An 8-bit RGB image, rows top to bottom, pixels interleaved (`r, g, b, r, g, b, …`). */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly channels: 3;
  readonly data: Uint8Array;
}

/** An RGB image with float32 values in [0, 1], interleaved like {@link RgbImage}. */
export interface FloatRgbImage {
  readonly width: number;
  readonly height: number;
  readonly channels: 3;
  readonly data: Float32Array;
}

/**
 * An input image: 1 (grey), 3 (RGB) or 4 (RGBA, alpha ignored) interleaved channels, as 8-bit
 * values or float32 values in [0, 1]. `sharp(file).raw().toBuffer({ resolveWithObject: true })`
 * gives one (`{ width, height, channels, data }` from its `info` and `data`).
 */
export interface ImageInput {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3 | 4;
  readonly data: Uint8Array | Uint8ClampedArray | Float32Array;
}

/** What the pipeline returns: 8-bit images (default) or float32 values in [0, 1]. */
export type OutputType = 'uint8' | 'float';

/** Checks an input image's fields and returns it typed. Throws {@link InvalidArgumentError}. */
export function assertImage(name: string, image: unknown): ImageInput {
  if (typeof image !== 'object' || image === null) {
    throw new InvalidArgumentError({ name, expected: 'an image { width, height, channels, data }', actual: image });
  }
  const { width, height, channels, data } = image as Partial<ImageInput>;
  for (const [field, value] of [['width', width], ['height', height]] as const) {
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
      throw new InvalidArgumentError({ name: `${name}.${field}`, expected: 'a positive integer', actual: value });
    }
  }
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new InvalidArgumentError({ name: `${name}.channels`, expected: '1, 3 or 4', actual: channels });
  }
  if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray || data instanceof Float32Array)) {
    throw new InvalidArgumentError({ name: `${name}.data`, expected: 'a Uint8Array (0–255) or a Float32Array (0–1)', actual: data });
  }
  const expected = width! * height! * channels;
  if (data.length !== expected) {
    throw new InvalidArgumentError({
      name: `${name}.data`,
      expected: `${expected} values (${width}×${height}×${channels})`,
      actual: data,
      hint: `it has ${data.length}; pass interleaved pixels, row by row`,
    });
  }
  if (data instanceof Float32Array) assertUnitRange(name, data);
  return image as ImageInput;
}

/** Float pixels must lie in [0, 1] (values from a [-1, 1] or 0–255 convention would be clipped or wrong). */
function assertUnitRange(name: string, data: Float32Array): void {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (Number.isNaN(v)) {
      throw new InvalidArgumentError({ name: `${name}.data`, expected: 'float values in [0, 1]', actual: v, hint: `element ${i} is NaN: fix the image before passing it` });
    }
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min < 0 || max > 1) {
    const hint =
      max > 1 && max <= 255 && min >= 0 ? 'it looks like 0–255 values: divide by 255, or pass a Uint8Array'
      : min >= -1 && max <= 1 ? 'it looks like [-1, 1] values: map them with (x + 1) / 2'
      : 'scale the values into [0, 1]';
    throw new InvalidArgumentError({ name: `${name}.data`, expected: 'float values in [0, 1]', actual: `values in [${min}, ${max}]`, hint });
  }
}

/** One channel's value in [0, 1] as float32, as numpy's `array.astype(float32) / 255`. */
function unit(data: ImageInput['data'], index: number): number {
  return data instanceof Float32Array ? data[index]! : Math.fround(data[index]! / 255);
}

/**
 * An image → `[1, 3, H, W]` float32 in [-1, 1] (`2x − 1`), the VAE encoder's input. Grey images
 * are repeated over RGB; alpha is dropped.
 *
 * @example
 * ```ts
 * const tensor = imageToTensor({ width: 32, height: 32, channels: 3, data: pixels }); // [1, 3, 32, 32]
 * ```
 */
export function imageToTensor(image: ImageInput): Tensor<Float32Array> {
  const { width, height, channels, data } = image;
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) {
      const value = unit(data, p * channels + (channels === 1 ? 0 : c));
      out[c * plane + p] = Math.fround(2 * value) - 1;
    }
  }
  return createTensor([1, 3, height, width], out);
}

/**
 * A mask → `[1, 1, H, W]` of 0 (keep) and 1 (repaint), as diffusers' mask processor: RGB is
 * converted to luminance as PIL's `convert('L')` does (ITU-R 601-2 in 16-bit fixed point, rounded to 8 bits), then
 * values ≥ 0.5 become 1.
 */
export function maskToTensor(mask: ImageInput): Tensor<Float32Array> {
  const { width, height, channels, data } = mask;
  const plane = width * height;
  const out = new Float32Array(plane);
  for (let p = 0; p < plane; p++) {
    let value: number;
    if (channels === 1) value = unit(data, p);
    else if (data instanceof Float32Array) value = 0.299 * data[p * channels]! + 0.587 * data[p * channels + 1]! + 0.114 * data[p * channels + 2]!;
    // PIL's fixed-point ITU-R 601-2 luma (ImagingConvert's L24), then / 255.
    else value = Math.fround(((data[p * channels]! * 19595 + data[p * channels + 1]! * 38470 + data[p * channels + 2]! * 7471 + 0x8000) >> 16) / 255);
    out[p] = value >= 0.5 ? 1 : 0;
  }
  return createTensor([1, 1, height, width], out);
}

/**
 * The VAE decoder's `[batch, 3, H, W]` output → images, as diffusers' postprocessing:
 * `clamp(x / 2 + 0.5, 0, 1)` in float32, then `round(255·v)` for 8-bit output.
 *
 * @example
 * ```ts
 * const [image] = tensorToImages(await vae.decode(latents), 'uint8');
 * ```
 */
export function tensorToImages(decoded: Tensor<Float32Array>, outputType: 'uint8'): RgbImage[];
export function tensorToImages(decoded: Tensor<Float32Array>, outputType: 'float'): FloatRgbImage[];
export function tensorToImages(decoded: Tensor<Float32Array>, outputType: OutputType): (RgbImage | FloatRgbImage)[];
export function tensorToImages(decoded: Tensor<Float32Array>, outputType: OutputType): (RgbImage | FloatRgbImage)[] {
  const [batch = 0, channels = 0, height = 0, width = 0] = decoded.dims;
  if (decoded.dims.length !== 4 || channels !== 3) {
    throw new InvalidArgumentError({ name: 'decoded', expected: 'a [batch, 3, H, W] tensor', actual: describeValue(decoded.dims) });
  }
  const plane = width * height;
  const images: (RgbImage | FloatRgbImage)[] = [];
  if (outputType === 'uint8') {
    // One fused pass (native when the addon is built, its TypeScript twin otherwise), bit for bit
    // diffusers' `numpy_to_pil(postprocess(x))`.
    const bytes = latentsToRgb8(decoded.data, { batch, height, width });
    for (let b = 0; b < batch; b++) images.push({ width, height, channels: 3, data: bytes.subarray(b * 3 * plane, (b + 1) * 3 * plane) });
    return images;
  }
  for (let b = 0; b < batch; b++) {
    const source = decoded.data.subarray(b * 3 * plane, (b + 1) * 3 * plane);
    const floats = new Float32Array(3 * plane);
    for (let c = 0; c < 3; c++) {
      for (let p = 0; p < plane; p++) {
        const v = Math.fround(Math.fround(source[c * plane + p]! / 2) + 0.5);
        floats[p * 3 + c] = v < 0 ? 0 : v > 1 ? 1 : v;
      }
    }
    images.push({ width, height, channels: 3, data: floats });
  }
  return images;
}
