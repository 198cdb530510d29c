/**
 * What `fromPretrained` reports about its load (`loadReport`), and `releaseTextEncoder`: the text
 * encoder's sessions close after each call's prompts are encoded and reopen for the next call,
 * without changing a seeded image, also with calls running at once. On latentkit-tiny.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError, type LoadStep } from '@latentkit/core';
import { modelPath } from '@latentkit/model-tiny';
import { ReopeningTextEncoder, StableDiffusionPipeline } from './index';

const present = fs.existsSync(path.join(modelPath, 'model_index.json'));
if (!present) console.warn(`Skipping the release and load-report tests: ${modelPath} has no model_index.json yet`);

const run = { prompt: 'a red circle on a blue background', numInferenceSteps: 2, seed: 5 } as const;

(present ? describe : describe.skip)('loadReport and releaseTextEncoder on latentkit-tiny', () => {
  let kept: StableDiffusionPipeline;
  let expected: Uint8Array;
  beforeAll(async () => {
    kept = await StableDiffusionPipeline.fromPretrained(undefined, { sessionOptions: { threads: 1 } });
    expected = (await kept.textToImage(run)).images[0]!.data;
  });
  afterAll(() => kept?.dispose());

  it('reports each part\'s load steps, and passes them on to a listener of the caller\'s', async () => {
    const report = kept.loadReport!;
    expect(Object.keys(report.parts).sort()).toEqual(['text_encoder', 'unet', 'vae_decoder']);
    for (const part of Object.values(report.parts)) {
      expect(part.steps.filter((step) => step.kind === 'session').length).toBeGreaterThanOrEqual(1);
      expect(part.milliseconds).toBeCloseTo(part.steps.reduce((sum, step) => sum + step.milliseconds, 0), 6);
      expect(part.cache.hit + part.cache.fill + part.cache.skip).toBe(part.steps.length);
    }
    const unet = report.parts.unet!;
    if ((kept.unet as { attentionBackend?: string }).attentionBackend === 'native') {
      expect(unet.steps[0]).toMatchObject({ kind: 'partition', file: expect.stringMatching(/unet[\\/]model\.onnx$/) });
    }
    expect(report.milliseconds).toBeGreaterThan(0);

    const seen: LoadStep[] = [];
    const other = await StableDiffusionPipeline.fromPretrained(undefined, { sessionOptions: { threads: 1, onLoadStep: (step) => seen.push(step) } });
    try {
      const recorded = Object.values(other.loadReport!.parts).flatMap((part) => part.steps);
      expect(seen.length).toBe(recorded.length);
      expect(new Set(seen)).toEqual(new Set(recorded));
    } finally {
      await other.dispose();
    }
  });

  it('closes the text encoder after encoding, reopens it for the next call, and gives the same image', async () => {
    const pipeline = await StableDiffusionPipeline.fromPretrained(undefined, { sessionOptions: { threads: 1 }, releaseTextEncoder: true });
    try {
      expect(pipeline.releaseTextEncoder).toBe(true);
      const encoder = pipeline.textEncoder as ReopeningTextEncoder;
      expect(encoder).toBeInstanceOf(ReopeningTextEncoder);
      expect(encoder.isOpen).toBe(true);
      expect((await pipeline.textToImage(run)).images[0]!.data).toEqual(expected);
      expect(encoder.isOpen).toBe(false);
      expect((await pipeline.textToImage(run)).images[0]!.data).toEqual(expected);
      expect(encoder.isOpen).toBe(false);
      // Calls at once share one reopen and close it after the last encode.
      const images = await Promise.all([pipeline.textToImage(run), pipeline.textToImage(run), pipeline.textToImage({ ...run, prompt: 'a green square' })]);
      expect(images[0].images[0]!.data).toEqual(expected);
      expect(images[1].images[0]!.data).toEqual(expected);
      expect(encoder.isOpen).toBe(false);
      // The encoder itself still works for a library user holding it.
      expect((await encoder.encode(['a red circle'])).hiddenStates.dims).toEqual([1, 77, pipeline.unet.crossAttentionDim]);
    } finally {
      await pipeline.dispose();
    }
  });

  it('refuses releaseTextEncoder with a text encoder it could not reopen, naming the fix', async () => {
    const settings = { releaseTextEncoder: true };
    const components = { unet: kept.unet, vae: kept.vae, scheduler: kept.scheduler, textEncoder: kept.textEncoder! };
    expect(() => new StableDiffusionPipeline(components, settings)).toThrow(InvalidArgumentError);
    expect(() => new StableDiffusionPipeline(components, settings)).toThrow(/ReopeningTextEncoder/);
    expect(() => new StableDiffusionPipeline(components, { releaseTextEncoder: 'yes' as never })).toThrow(/releaseTextEncoder/);
    // Wrapped, it works: the wrapper reopens through the function it was given.
    const wrapped = new StableDiffusionPipeline({ ...components, textEncoder: new ReopeningTextEncoder(kept.textEncoder!, () => Promise.resolve(kept.textEncoder!)) }, settings);
    expect(wrapped.releaseTextEncoder).toBe(true);
  });
});
