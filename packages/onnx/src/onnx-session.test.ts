import * as os from 'node:os';
import * as path from 'node:path';
import { promises as fs } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { InvalidArgumentError, ModelLoadError } from '@latentkit/core';
import { openOnnxSession, toOnnxRuntimeOptions } from './onnx-session';
import { addExternalWeightModel, identityModel } from './__fixtures__/identity-model';

let scratch: string;
let modelFile: string;

beforeAll(async () => {
  scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'latentkit-onnx-'));
  modelFile = path.join(scratch, 'model.onnx');
  await fs.writeFile(modelFile, identityModel(['batch', 4], { input: 'input_ids', output: 'last_hidden_state' }));
});

afterAll(async () => {
  await fs.rm(scratch, { recursive: true, force: true });
});

describe('openOnnxSession', () => {
  it('opens a model by path and releases it', async () => {
    const session = await openOnnxSession(modelFile, { threads: 1, graphOptimizationLevel: 'basic' });
    expect(session.inputNames).toEqual(['input_ids']);
    expect(session.outputNames).toEqual(['last_hidden_state']);
    await session.release();
  });

  it('loads by path so that external weights resolve beside the model', async () => {
    const folder = path.join(scratch, 'external');
    await fs.mkdir(folder);
    const { model, weights } = addExternalWeightModel([1, 2, 3], 'weights.pb');
    await fs.writeFile(path.join(folder, 'model.onnx'), model);
    await fs.writeFile(path.join(folder, 'weights.pb'), weights);
    const session = await openOnnxSession(path.join(folder, 'model.onnx'), { threads: 1 });
    const { output } = await session.run({ input: new ort.Tensor('float32', Float32Array.from([10, 20, 30]), [3]) });
    // Exact: small integers are exact in float32.
    expect(Array.from(output!.data as Float32Array)).toEqual([11, 22, 33]);
    await session.release();
  });

  it('opens given bytes instead of the file, and names the file when they are not a model', async () => {
    const named = path.join(scratch, 'edited.onnx'); // never written: the bytes stand for it
    const session = await openOnnxSession(named, { threads: 1 }, identityModel([2], { input: 'a', output: 'b' }));
    expect(session.inputNames).toEqual(['a']);
    await session.release();
    const error = await openOnnxSession(named, {}, Uint8Array.from([1, 2, 3])).catch((e: unknown) => e);
    expect(ModelLoadError.isInstance(error)).toBe(true);
    expect((error as ModelLoadError).message).toContain(named);
    expect((error as ModelLoadError).message).toMatch(/onnxruntime cannot load it as an ONNX model/);
    await expect(openOnnxSession(modelFile, {}, [1, 2] as never)).rejects.toThrow(InvalidArgumentError);
  });

  it('says when the file is missing, a folder, or not an ONNX model', async () => {
    await expect(openOnnxSession(path.join(scratch, 'missing.onnx'))).rejects.toThrow(/the ONNX model file does not exist/);
    await expect(openOnnxSession(scratch)).rejects.toThrow(/it is a directory, not an ONNX model file/);
    const garbage = path.join(scratch, 'garbage.onnx');
    await fs.writeFile(garbage, 'not a protobuf');
    const error = await openOnnxSession(garbage).catch((e: unknown) => e);
    expect(ModelLoadError.isInstance(error)).toBe(true);
    expect((error as ModelLoadError).message).toMatch(/onnxruntime cannot load it as an ONNX model/);
    expect((error as ModelLoadError).cause).toBeDefined();
    await expect(openOnnxSession('')).rejects.toThrow(InvalidArgumentError);
    await expect(openOnnxSession(modelFile, { threads: 0 })).rejects.toThrow(InvalidArgumentError);
  });

  it('asks for CUDA when told to, and explains how to install it when onnxruntime-node lacks it', async () => {
    // Which outcome depends on the onnxruntime-node build installed here; both are checked.
    const outcome = await openOnnxSession(modelFile, { executionProvider: 'cuda' }).catch((e: unknown) => e);
    if (!(outcome instanceof Error)) {
      await (outcome as ort.InferenceSession).release();
    } else {
      expect(ModelLoadError.isInstance(outcome)).toBe(true);
      expect((outcome as Error).message).toMatch(/CUDA execution provider .*ONNXRUNTIME_NODE_INSTALL=cuda12 npm install onnxruntime-node\) or use executionProvider: 'cpu'/s);
    }
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
      extra: { session: { disable_prepacking: '1' } },
    });
    expect(toOnnxRuntimeOptions({ intraOpNumThreads: 3 }).intraOpNumThreads).toBe(3);
    expect(() => toOnnxRuntimeOptions({ threads: 0 })).toThrow(InvalidArgumentError);
    expect(() => toOnnxRuntimeOptions(null as never)).toThrow(InvalidArgumentError);
  });

  it("merges onnxruntime's own session entries into latentkit's, entry by entry (the caller's win)", () => {
    const options = { extra: { session: { use_env_allocators: '1' }, other: 'kept' } } as never;
    expect(toOnnxRuntimeOptions(options).extra).toEqual({ session: { disable_prepacking: '1', use_env_allocators: '1' }, other: 'kept' });
    expect(toOnnxRuntimeOptions({ extra: { session: { disable_prepacking: '0' } } } as never).extra).toEqual({ session: { disable_prepacking: '0' } });
    expect(toOnnxRuntimeOptions({ prepackWeights: true, extra: { session: { use_env_allocators: '1' } } } as never).extra).toEqual({ session: { use_env_allocators: '1' } });
  });
});
