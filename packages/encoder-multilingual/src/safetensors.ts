/**
 * Reading float32 tensors from a `.safetensors` file (huggingface/safetensors' format: an
 * 8-byte little-endian header length, a JSON header `{ name: { dtype, shape, data_offsets } }`,
 * then the tensors' little-endian bytes). Used for a projection matrix shipped beside an encoder.
 */
import { promises as fs } from 'node:fs';
import { ModelLoadError } from '@latentkit/core';

/** A float32 tensor read from a safetensors file. */
export interface SafetensorsTensor {
  readonly dims: readonly number[];
  readonly data: Float32Array;
}

/**
 * Reads every tensor of a safetensors file; only `F32` is accepted (a projection is small).
 *
 * @example
 * ```ts
 * const tensors = await readSafetensors('text_encoder_multilingual/projection.safetensors');
 * tensors.get('weight')?.dims; // [768, 1024]
 * ```
 */
export async function readSafetensors(file: string): Promise<Map<string, SafetensorsTensor>> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (error) {
    throw new ModelLoadError({ path: file, reason: 'the safetensors file cannot be read', cause: error });
  }
  const fail = (reason: string): never => {
    throw new ModelLoadError({ path: file, reason: `it is not a valid safetensors file: ${reason}` });
  };
  if (bytes.length < 8) fail('it is shorter than the 8-byte header length');
  const headerLength = Number(bytes.readBigUInt64LE(0));
  if (headerLength > bytes.length - 8) fail(`the header length ${headerLength} exceeds the file`);
  let header: Record<string, { dtype?: unknown; shape?: unknown; data_offsets?: unknown }>;
  try {
    header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
  } catch (error) {
    return fail(`its header is not JSON (${(error as Error).message})`);
  }
  const base = 8 + headerLength;
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets: offsets } = entry;
    if (dtype !== 'F32') fail(`tensor '${name}' is ${String(dtype)}; store the projection as F32`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) fail(`tensor '${name}' has no valid shape`);
    if (!Array.isArray(offsets) || offsets.length !== 2) fail(`tensor '${name}' has no data_offsets`);
    const [start, end] = offsets as [number, number];
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    if (end - start !== count * 4 || base + end > bytes.length) fail(`tensor '${name}' has ${end - start} bytes for shape [${shape}]`);
    // Copy into an aligned buffer: offsets inside the file need not be multiples of 4.
    const data = new Float32Array(count);
    new Uint8Array(data.buffer).set(bytes.subarray(base + start, base + end));
    tensors.set(name, { dims: shape as number[], data });
  }
  return tensors;
}
