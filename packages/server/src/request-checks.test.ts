/** The pure parts: FastAPI-shaped errors, sampler names, seeds, priorities, tokens, model arguments. */
import { bullmqPriority, fromAjvErrors, jobFromBody, parseModelArgument, samplerOf, tokenChecker, DEFAULT_LIMITS, type GenerationBody } from './index';

const body = (extra: Partial<GenerationBody> = {}): GenerationBody => ({
  prompt: 'a red circle',
  negative_prompt: '',
  steps: 20,
  cfg_scale: 7,
  seed: 7,
  batch_size: 1,
  n_iter: 1,
  denoising_strength: 0.75,
  send_images: true,
  override_settings: {},
  ...extra,
});
const context = { limits: DEFAULT_LIMITS, models: [{ name: 'latentkit-tiny' }], currentModel: 'latentkit-tiny', previewEvery: 1 };

describe('request checks', () => {
  it('maps ajv errors to pydantic v1 messages and locations', () => {
    expect(fromAjvErrors([{ instancePath: '', keyword: 'required', params: { missingProperty: 'id' } }], 'params')).toEqual([{ loc: ['params', 'id'], msg: 'field required', type: 'value_error.missing' }]);
    expect(fromAjvErrors([{ instancePath: '/init_images/0', keyword: 'type', params: { type: 'string' } }], 'body')).toEqual([{ loc: ['body', 'init_images', 0], msg: 'str type expected', type: 'type_error.str' }]);
  });

  it('combines A1111 ≥ 1.9 sampler and scheduler fields, and refuses unknown samplers', () => {
    expect(samplerOf({ sampler_name: 'DPM++ 2M', scheduler: 'Karras' })).toBe('DPM++ 2M Karras');
    expect(samplerOf({ sampler_name: 'Euler a', scheduler: 'Automatic' })).toBe('Euler a');
    expect(samplerOf({ sampler_index: 'DDIM' })).toBe('DDIM');
    expect(samplerOf({})).toBeUndefined();
    expect(() => jobFromBody(body({ sampler_name: 'Nope' }), 'txt2img', context)).toThrow(/unknown sampler 'Nope'/);
  });

  it('gives image i of batch_size × n_iter the seed seed + i, and draws one for −1', () => {
    expect(jobFromBody(body({ batch_size: 2, n_iter: 2 }), 'txt2img', context).seeds).toEqual([7, 8, 9, 10]);
    const random = jobFromBody(body({ seed: -1, batch_size: 2 }), 'txt2img', context).seeds;
    expect(random[1]).toBe(random[0]! + 1);
    expect(random[0]).toBeGreaterThanOrEqual(0);
  });

  it('turns img2img with a mask into inpaint, and echoes parameters without the images', () => {
    const job = jobFromBody(body({ init_images: ['aW1n'], mask: 'bWFzaw==' }), 'img2img', context);
    expect(job).toMatchObject({ task: 'inpaint', initImage: 'aW1n', mask: 'bWFzaw==', denoisingStrength: 0.75 });
    expect(job.parameters).toMatchObject({ init_images: ['<image>'], mask: '<mask>' });
  });

  it('orders BullMQ priorities so that higher latentkit priorities run first', () => {
    expect(bullmqPriority(1000)).toBeLessThan(bullmqPriority(0));
    expect(bullmqPriority(undefined)).toBe(1001);
    expect(bullmqPriority(5000)).toBe(1);
  });

  it('checks bearer tokens from the header or access_token', () => {
    const allowed = tokenChecker('a-long-token');
    expect(allowed('Bearer a-long-token', undefined)).toBe(true);
    expect(allowed(undefined, 'a-long-token')).toBe(true);
    expect(allowed('Bearer a-long-tokeN', undefined)).toBe(false);
    expect(allowed(undefined, ['a-long-token'])).toBe(false);
  });

  it('reads --model as name=folder or a folder named after its last part', () => {
    expect(parseModelArgument('sd15=/models/sd15-onnx')).toEqual({ name: 'sd15', path: '/models/sd15-onnx' });
    expect(parseModelArgument('/models/sd15-onnx/')).toEqual({ name: 'sd15-onnx', path: '/models/sd15-onnx/' });
  });
});
