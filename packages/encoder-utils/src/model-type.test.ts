import { nonClipModelType } from './model-type';

describe('nonClipModelType', () => {
  it('names a config that is not CLIP, and nothing else', () => {
    expect(nonClipModelType({ model_type: 'xlm-roberta' })).toBe('xlm-roberta');
    expect(nonClipModelType({ model_type: 'clip_text_model' })).toBeUndefined();
    expect(nonClipModelType({ model_type: 3 })).toBeUndefined();
    expect(nonClipModelType({})).toBeUndefined();
    expect(nonClipModelType(undefined)).toBeUndefined();
  });
});
