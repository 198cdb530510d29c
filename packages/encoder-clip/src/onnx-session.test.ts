import * as os from 'node:os';
import * as path from 'node:path';
import { promises as fs } from 'node:fs';
import { InvalidArgumentError, ModelLoadError } from '@latentkit/core';
import { createOnnxSession, toOnnxRuntimeOptions } from './onnx-session';

const MODEL = path.resolve(__dirname, '../test-fixtures/clip-int64/model.onnx');

describe('createOnnxSession', () => {
  it('opens a model and releases it', async () => {
    const session = await createOnnxSession(MODEL, { threads: 1, graphOptimizationLevel: 'basic' });
    expect(session.inputNames).toEqual(['input_ids']);
    await session.release();
  });

  it('says when the file is missing, a folder, or not an ONNX model', async () => {
    await expect(createOnnxSession(path.join(__dirname, 'missing.onnx'))).rejects.toThrow(/the ONNX model file does not exist/);
    await expect(createOnnxSession(__dirname)).rejects.toThrow(/it is a directory, not an ONNX model file/);
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'latentkit-onnx-'));
    const garbage = path.join(dir, 'model.onnx');
    await fs.writeFile(garbage, 'not a protobuf');
    const error = await createOnnxSession(garbage).catch((e: unknown) => e);
    expect(ModelLoadError.isInstance(error)).toBe(true);
    expect((error as ModelLoadError).message).toMatch(/onnxruntime cannot load it as an ONNX model/);
    await fs.rm(dir, { recursive: true });
    await expect(createOnnxSession('')).rejects.toThrow(InvalidArgumentError);
  });
});

describe('toOnnxRuntimeOptions', () => {
  it("maps latentkit's portable options and keeps onnxruntime's own keys", () => {
    expect(toOnnxRuntimeOptions({ threads: 2, executionProvider: 'cpu', logSeverityLevel: 3 })).toEqual({
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      intraOpNumThreads: 2,
      logSeverityLevel: 3,
    });
    expect(toOnnxRuntimeOptions({ intraOpNumThreads: 3 }).intraOpNumThreads).toBe(3);
    expect(() => toOnnxRuntimeOptions({ threads: 0 })).toThrow(InvalidArgumentError);
  });
});
