import * as os from 'node:os';
import * as path from 'node:path';
import { promises as fs, readFileSync } from 'node:fs';
import { ModelLoadError } from '@latentkit/core';
import { readOnnxInitializers } from './onnx-initializers';

const MODEL = path.resolve(__dirname, '../test-fixtures/clip-int64/model.onnx');

describe('readOnnxInitializers', () => {
  it('reads named float32 initializers with their dims, and skips the others', async () => {
    const found = await readOnnxInitializers(MODEL, ['final_layer_norm.weight', 'final_layer_norm.bias', 'position_embedding.weight', 'no.such.tensor']);
    expect([...found.keys()].sort()).toEqual(['final_layer_norm.bias', 'final_layer_norm.weight', 'position_embedding.weight']);
    expect(found.get('position_embedding.weight')!.dims).toEqual([77, 16]);
    expect(found.get('position_embedding.weight')!.data).toHaveLength(77 * 16);
    // The fixture's final layer norm is 1 + 0.1·N(0, 1): finite, around 1, not all ones.
    const weight = found.get('final_layer_norm.weight')!.data;
    expect(weight).toHaveLength(16);
    expect(weight.every((v) => Number.isFinite(v) && Math.abs(v - 1) < 0.5)).toBe(true);
    expect(weight.some((v) => v !== 1)).toBe(true);
  });

  it('says when the file is missing or not an ONNX protobuf', async () => {
    await expect(readOnnxInitializers(path.join(__dirname, 'missing.onnx'), ['x'])).rejects.toThrow(ModelLoadError);
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'latentkit-onnx-'));
    const truncated = path.join(dir, 'model.onnx');
    await fs.writeFile(truncated, readFileSync(MODEL).subarray(0, 5000));
    await expect(readOnnxInitializers(truncated, ['x'])).rejects.toThrow(/it is not a valid ONNX protobuf/);
    await fs.rm(dir, { recursive: true });
  });
});
