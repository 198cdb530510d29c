import * as ort from 'onnxruntime-node';
import { declaredShape, describeInputs, describeOutputs, fixedDimension } from './onnx-metadata';
import { identityModel } from './__fixtures__/identity-model';

describe('describeInputs / describeOutputs', () => {
  it('reports names, element types and fixed and symbolic dimensions as the graph declares them', async () => {
    const session = await ort.InferenceSession.create(identityModel(['batch', 4, 8, 8], { input: 'sample', output: 'out_sample' }));
    try {
      expect(describeInputs(session)).toEqual([{ name: 'sample', type: 'float32', shape: ['batch', 4, 8, 8] }]);
      expect(describeOutputs(session)).toEqual([{ name: 'out_sample', type: 'float32', shape: ['batch', 4, 8, 8] }]);
      expect(declaredShape(session, 'sample', 'input')).toEqual(['batch', 4, 8, 8]);
      expect(declaredShape(session, 'out_sample', 'output')).toEqual(['batch', 4, 8, 8]);
      expect(declaredShape(session, 'sample', 'output')).toBeUndefined();
    } finally {
      await session.release();
    }
  });

  it('falls back to names alone when onnxruntime reports no metadata', () => {
    const bare = { inputNames: ['input_ids'], outputNames: ['last_hidden_state'] } as unknown as ort.InferenceSession;
    expect(describeInputs(bare)).toEqual([{ name: 'input_ids', type: undefined, shape: undefined }]);
    expect(describeOutputs(bare)).toEqual([{ name: 'last_hidden_state', type: undefined, shape: undefined }]);
    expect(declaredShape(bare, 'input_ids', 'input')).toBeUndefined();
  });
});

describe('fixedDimension', () => {
  it('returns positive numeric dimensions only', () => {
    const info = { name: 'sample', shape: ['batch', 4, 0, -1] };
    expect(fixedDimension(info, 1)).toBe(4);
    expect(fixedDimension(info, 0)).toBeUndefined();
    expect(fixedDimension(info, 2)).toBeUndefined();
    expect(fixedDimension(info, 3)).toBeUndefined();
    expect(fixedDimension(info, 9)).toBeUndefined();
    expect(fixedDimension({ name: 'sample' }, 1)).toBeUndefined();
    expect(fixedDimension(undefined, 1)).toBeUndefined();
  });
});
