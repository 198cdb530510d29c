import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { clearOptimizedModelCache, defaultCacheFolder, optimizedModelKey, planCachedSession } from './optimized-model-cache';
import { openOnnxSession, toOnnxRuntimeOptions } from './onnx-session';

const SOURCE = path.resolve(__dirname, '../../model-tiny/model/text_encoder/model.onnx');

describe('the optimized-model cache', () => {
  let work: string;
  let model: string;
  beforeEach(async () => {
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'latentkit-cache-test-'));
    await fs.mkdir(path.join(work, 'model'));
    model = path.join(work, 'model', 'model.onnx');
    await fs.copyFile(SOURCE, model);
  });
  afterEach(() => fs.rm(work, { recursive: true, force: true }));

  it('saves the optimized graph on the first open and opens it, unoptimized, afterwards', async () => {
    const cache = path.join(work, 'cache');
    const options = toOnnxRuntimeOptions({ threads: 1 });
    const first = await planCachedSession(model, options, cache, 0);
    expect(first.state).toBe('fill');
    const session = await ort.InferenceSession.create(first.openFile, first.options);
    await first.commit();
    await session.release();
    const second = await planCachedSession(model, options, cache, 0);
    expect(second.state).toBe('hit');
    expect(second.options.graphOptimizationLevel).toBe('disabled');
    const cached = await ort.InferenceSession.create(second.openFile, second.options);
    expect(cached.inputNames).toEqual(['input_ids']);
    await cached.release();
    expect(await clearOptimizedModelCache(cache)).toBeGreaterThan(0);
    expect((await planCachedSession(model, options, cache, 0)).state).toBe('fill');
  });

  it('keys entries by the source files and the options that shape the graph', async () => {
    const options = toOnnxRuntimeOptions({});
    const key = await optimizedModelKey(model, options);
    expect((await optimizedModelKey(model, toOnnxRuntimeOptions({ graphOptimizationLevel: 'basic' }))).digest).not.toBe(key.digest);
    // Threads do not change the optimized graph.
    expect((await optimizedModelKey(model, toOnnxRuntimeOptions({ threads: 1 }))).digest).toBe(key.digest);
    await fs.writeFile(path.join(work, 'model', 'weights.pb'), 'x');
    expect((await optimizedModelKey(model, options)).digest).not.toBe(key.digest);
  });

  it('leaves small models, disabled optimization and a caller\'s own optimizedModelFilePath uncached', async () => {
    const cache = path.join(work, 'cache');
    expect((await planCachedSession(model, toOnnxRuntimeOptions({}), cache)).state).toBe('skip');
    expect((await planCachedSession(model, toOnnxRuntimeOptions({ graphOptimizationLevel: 'disabled' }), cache, 0)).state).toBe('skip');
    expect((await planCachedSession(model, { ...toOnnxRuntimeOptions({}), optimizedModelFilePath: path.join(work, 'x.onnx') }, cache, 0)).state).toBe('skip');
  });

  it('takes its folder from LATENTKIT_CACHE_DIR, else XDG_CACHE_HOME, else ~/.cache', () => {
    expect(defaultCacheFolder({ LATENTKIT_CACHE_DIR: '/tmp/lk' })).toBe('/tmp/lk');
    expect(defaultCacheFolder({ XDG_CACHE_HOME: '/tmp/xdg' })).toBe('/tmp/xdg/latentkit');
    expect(defaultCacheFolder({})).toBe(path.join(os.homedir(), '.cache', 'latentkit'));
  });

  it('refuses a cache folder that is not a path, naming the option', async () => {
    await expect(openOnnxSession(model, { optimizedModelCache: 3 as never })).rejects.toThrow(/optimizedModelCache/);
  });
});
