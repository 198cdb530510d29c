/**
 * The A1111 endpoints in process, on the bundled latentkit-tiny model: images judged from their
 * pixels, seeds, FastAPI-shaped 422s, auth, limits, and no stack traces.
 */
import { analyseShapeImage, renderShapeImage } from '@latentkit/testing';
import { createServer, type LatentkitServer } from './index';
import { RED_CIRCLE, call, pngToRgb } from './test-helpers';
import { encodePng } from './png-codec';

describe('AUTOMATIC1111 endpoints (in process, latentkit-tiny)', () => {
  let server: LatentkitServer;
  let base: string;
  beforeAll(async () => {
    server = await createServer({ loadOptions: { sessionOptions: { threads: 1 } }, limits: { maxPromptLength: 200, maxSteps: 150, maxImages: 4 } });
    base = await server.listen({ port: 0 });
  });
  afterAll(() => server?.close());

  const post = (url: string, payload: unknown) => call(base, url, { payload });

  it('txt2img draws a red circle on blue and reports its seed in info', async () => {
    const response = await post('/sdapi/v1/txt2img', RED_CIRCLE);
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(Object.keys(body).sort()).toEqual(['images', 'info', 'parameters']);
    expect(body.images).toHaveLength(1);
    const image = await pngToRgb(body.images[0]);
    expect(image).toMatchObject({ width: 64, height: 64 });
    expect(analyseShapeImage(image)).toMatchObject({ foreground: 'red', shape: 'circle', background: 'blue' });
    const info = JSON.parse(body.info);
    expect(info).toMatchObject({ seed: 11, all_seeds: [11], steps: 20, cfg_scale: 5, sampler_name: 'DDIM', width: 64, height: 64 });
    expect(body.parameters).toMatchObject({ prompt: RED_CIRCLE.prompt, steps: 20, seed: 11 });
  });

  it('seed −1 draws a random seed; batch_size × n_iter images get seed + i, each reproducible alone', async () => {
    const batch = (await post('/sdapi/v1/txt2img', { ...RED_CIRCLE, seed: -1, steps: 4, batch_size: 2, n_iter: 1 })).json();
    const info = JSON.parse(batch.info);
    expect(batch.images).toHaveLength(2);
    expect(info.all_seeds[1]).toBe(info.all_seeds[0] + 1);
    const single = (await post('/sdapi/v1/txt2img', { ...RED_CIRCLE, seed: info.all_seeds[1], steps: 4 })).json();
    expect(single.images[0]).toBe(batch.images[1]);
  });

  it('img2img and inpaint (img2img with a mask) take base64 init images', async () => {
    const square = renderShapeImage({ shape: 'square', foreground: 'green', background: 'white', size: 28 });
    const init = await encodePng(square);
    const img2img = await post('/sdapi/v1/img2img', { ...RED_CIRCLE, init_images: [`data:image/png;base64,${init}`], denoising_strength: 0.5, steps: 10 });
    expect(img2img.statusCode).toBe(200);
    expect(JSON.parse(img2img.json().info)).toMatchObject({ denoising_strength: 0.5 });
    const mask = await encodePng({ width: 64, height: 64, channels: 1, data: new Uint8Array(64 * 64).fill(255) });
    const inpaint = await post('/sdapi/v1/img2img', { ...RED_CIRCLE, init_images: [init], mask, denoising_strength: 1, steps: 6 });
    expect(inpaint.statusCode).toBe(200);
    expect(inpaint.json().images).toHaveLength(1);
  });

  it('answers bad requests with 422 and FastAPI per-field errors', async () => {
    const response = await post('/sdapi/v1/txt2img', { prompt: 'x'.repeat(201), steps: 'many', cfg_scale: 5, batch_size: 0 });
    expect(response.statusCode).toBe(422);
    const { detail } = response.json();
    expect(detail).toEqual(
      expect.arrayContaining([
        { loc: ['body', 'prompt'], msg: 'ensure this value has at most 200 characters', type: 'value_error.any_str.max_length', ctx: { limit_value: 200 } },
        { loc: ['body', 'steps'], msg: 'value is not a valid integer', type: 'type_error.integer' },
        { loc: ['body', 'batch_size'], msg: 'ensure this value is greater than or equal to 1', type: 'value_error.number.not_ge', ctx: { limit_value: 1 } },
      ]),
    );
    const tooMany = (await post('/sdapi/v1/txt2img', { prompt: 'a', steps: 151 })).json().detail;
    expect(tooMany).toEqual([{ loc: ['body', 'steps'], msg: 'ensure this value is less than or equal to 150', type: 'value_error.number.not_le', ctx: { limit_value: 150 } }]);
    const semantic = (await post('/sdapi/v1/txt2img', { prompt: 'a', width: 2048, height: 2048, batch_size: 4, n_iter: 2, sampler_name: 'Nope' })).json().detail;
    expect(semantic.map((d: { loc: string[] }) => d.loc[1])).toEqual(['width', 'batch_size', 'sampler_name']);
    const model = await post('/sdapi/v1/txt2img', { prompt: 'a', override_settings: { sd_model_checkpoint: '/etc/passwd' } });
    expect(model.statusCode).toBe(422);
    expect(model.json().detail[0].msg).toMatch(/unknown model '\/etc\/passwd': this server runs 'latentkit-tiny'/);
    const empty = (await post('/sdapi/v1/txt2img', {})).json().detail;
    expect(empty).toEqual([{ loc: ['body', 'prompt'], msg: 'ensure this value is a non-empty prompt: describe the image', type: 'value_error.any_str.min_length' }]);
    const noInit = (await post('/sdapi/v1/img2img', { prompt: 'a' })).json().detail;
    expect(noInit[0]).toMatchObject({ loc: ['body', 'init_images'], type: 'value_error.missing' });
  });

  it('turns pipeline argument errors into 422s on the request field', async () => {
    const response = await post('/sdapi/v1/txt2img', { ...RED_CIRCLE, width: 128, height: 64, steps: 2 });
    expect(response.statusCode).toBe(422);
    expect(response.json().detail[0]).toMatchObject({ loc: ['body', 'width'], msg: expect.stringMatching(/width must be 64/) });
    const badImage = await post('/sdapi/v1/img2img', { ...RED_CIRCLE, init_images: ['bm90IGFuIGltYWdl'], steps: 2 });
    expect(badImage.statusCode).toBe(422);
    expect(badImage.json().detail[0]).toMatchObject({ loc: ['body', 'init_images'] });
    expect(badImage.body).not.toMatch(/at .*\.ts:\d+/);
  });

  it('lists samplers, schedulers and models (names, never paths) and sets the model through options', async () => {
    const samplers = (await call(base, '/sdapi/v1/samplers')).json();
    expect(samplers).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'Euler a' }), expect.objectContaining({ name: 'DPM++ 2M Karras', aliases: ['dpmpp_2m_karras'] })]));
    const models = (await call(base, '/sdapi/v1/sd-models')).json();
    expect(models).toEqual([{ title: 'latentkit-tiny', model_name: 'latentkit-tiny', hash: null, sha256: null, filename: 'latentkit-tiny', config: null }]);
    expect((await call(base, '/sdapi/v1/options')).json()).toMatchObject({ sd_model_checkpoint: 'latentkit-tiny' });
    expect((await post('/sdapi/v1/options', { sd_model_checkpoint: 'latentkit-tiny', CLIP_stop_at_last_layers: 2 })).statusCode).toBe(200);
    const refused = await post('/sdapi/v1/options', { sd_model_checkpoint: '../../etc' });
    expect(refused.statusCode).toBe(422);
    expect(refused.json().detail[0].loc).toEqual(['body', 'sd_model_checkpoint']);
  });

  it('reports progress with a preview while a job runs, and interrupt returns the images finished so far', async () => {
    const pending = post('/sdapi/v1/txt2img', { ...RED_CIRCLE, steps: 40, batch_size: 3 });
    let progress: { progress?: number; state?: { sampling_step?: number }; current_image?: string | null } = {};
    for (let i = 0; i < 400 && !((progress.state?.sampling_step ?? 0) > 40); i++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      progress = (await call(base, '/sdapi/v1/progress')).json();
    }
    expect(progress.progress).toBeGreaterThan(0);
    expect(progress.progress).toBeLessThan(1);
    expect(progress.state).toMatchObject({ sampling_steps: 120, job_count: 1 });
    expect(typeof progress.current_image).toBe('string');
    expect((await pngToRgb(progress.current_image as string)).width).toBeGreaterThan(0);
    expect((await call(base, '/sdapi/v1/progress?skip_current_image=true')).json().current_image).toBeNull();
    expect((await post('/sdapi/v1/interrupt', {})).json()).toEqual({});
    const body = (await pending).json();
    const info = JSON.parse(body.info);
    expect(info.interrupted).toBe(true);
    expect(body.images.length).toBeGreaterThanOrEqual(1);
    expect(body.images.length).toBeLessThan(3);
    expect(info.all_seeds).toHaveLength(body.images.length);
  });

  it('answers unknown routes, oversized bodies and bad JSON in the same {detail} shape, without internals', async () => {
    expect((await call(base, '/nope')).json()).toEqual({ detail: 'Not Found' });
    const badJson = await call(base, '/sdapi/v1/txt2img', { headers: { 'content-type': 'application/json' }, payload: '{"prompt":' });
    expect(badJson.statusCode).toBe(400);
    expect(Object.keys(badJson.json())).toEqual(['detail']);
  });
});

describe('limits and authentication', () => {
  let server: LatentkitServer;
  let base: string;
  beforeAll(async () => {
    server = await createServer({ authToken: 'correct horse battery', limits: { maxBodyBytes: 4096 } });
    base = await server.listen({ port: 0 });
  });
  afterAll(() => server?.close());

  it('checks the bearer token on every route, the page included', async () => {
    for (const url of ['/', '/sdapi/v1/samplers', '/sdapi/v1/progress', '/latentkit/v1/info', '/nope']) {
      const response = await call(base, url);
      expect(response.statusCode).toBe(401);
      expect(response.json()).toEqual({ detail: 'Not authenticated' });
      expect(response.headers['www-authenticate']).toBe('Bearer');
    }
    expect((await call(base, '/sdapi/v1/samplers', { headers: { authorization: 'Bearer wrong' } })).statusCode).toBe(401);
    expect((await call(base, '/sdapi/v1/samplers', { headers: { authorization: 'Bearer correct horse battery' } })).statusCode).toBe(200);
    const page = await call(base, '/?access_token=correct%20horse%20battery');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
  });

  it('refuses bodies over the limit with 413', async () => {
    const response = await call(base, '/sdapi/v1/img2img', {
      headers: { authorization: 'Bearer correct horse battery' },
      payload: { prompt: 'a', init_images: ['A'.repeat(8000)] },
    });
    expect(response.statusCode).toBe(413);
    expect(Object.keys(response.json())).toEqual(['detail']);
  });

  it('refuses short tokens', async () => {
    await expect(createServer({ authToken: 'short' })).rejects.toThrow(/at least 8 characters/);
  });
});
