/**
 * latentkit-tiny's quality, measured: generate one image per prompt with fixed seeds and 20 DDIM
 * steps, read each back with the deterministic analyser of @latentkit/testing, and require
 *   English (CLIP encoder):        foreground and background colour both right ≥ 90 %, shape right ≥ 70 %
 *   fr / es / de / zh (multilingual encoder): both colours right ≥ 85 %.
 * The 48 prompts (fixtures/quality-prompts.json, made by tools/train-tiny/make_quality_prompts.py)
 * are combinations seen in training but not among those used to pick the checkpoint; the 12
 * combinations held out of training are measured and reported separately, not required.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { modelPath } from '@latentkit/model-tiny';
import { StableDiffusionPipeline } from '@latentkit/pipeline';
import { analyseShapeImage } from '@latentkit/testing';

interface QualityCase {
  shape: string;
  colour: string;
  background: string;
  heldout: boolean;
  captions: Record<Language, string>;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { cases } = require('./fixtures/quality-prompts.json') as { cases: QualityCase[] };

const GUIDANCE_SCALE = 5; // the model card's choice: 5 beat 3 and 8 in training-time sweeps
const STEPS = 20;
const BATCH = 12;
type Language = 'en' | 'fr' | 'es' | 'de' | 'zh';

interface Score {
  n: number;
  colours: number;
  shape: number;
}

const hasModel = existsSync(path.join(modelPath, 'model_index.json'));
if (!hasModel) console.warn(`model-quality: skipped, the embedded model is absent at ${modelPath}`);
const describeWithModel = hasModel ? describe : describe.skip;

async function score(pipeline: StableDiffusionPipeline, language: Language, selected: QualityCase[]): Promise<Score> {
  let colours = 0;
  let shape = 0;
  for (let start = 0; start < selected.length; start += BATCH) {
    const batch = selected.slice(start, start + BATCH);
    const { images } = await pipeline.textToImage({
      prompt: batch.map((c) => c.captions[language]),
      guidanceScale: GUIDANCE_SCALE,
      numInferenceSteps: STEPS,
      seed: 1000 + start,
    });
    images.forEach((image, i) => {
      const truth = batch[i]!;
      const analysis = analyseShapeImage(image);
      if (analysis.foreground === truth.colour && analysis.background === truth.background) colours++;
      if (analysis.shape === truth.shape) shape++;
    });
  }
  return { n: selected.length, colours: colours / selected.length, shape: shape / selected.length };
}

const percent = (x: number) => `${(100 * x).toFixed(0)}%`;

describeWithModel('latentkit-tiny quality (20 DDIM steps, guidance 5, fixed seeds)', () => {
  const seen = cases.filter((c) => !c.heldout);
  const heldout = cases.filter((c) => c.heldout);
  const results: string[] = [];
  const scores = new Map<Language, Promise<Score>>();
  let english: Promise<StableDiffusionPipeline>;
  let multilingual: Promise<StableDiffusionPipeline>;

  beforeAll(() => {
    english = StableDiffusionPipeline.fromPretrained(modelPath);
    multilingual = StableDiffusionPipeline.fromPretrained(modelPath, { textEncoder: 'multilingual' });
  });
  afterAll(async () => {
    await Promise.allSettled([english, multilingual].map(async (p) => (await p).dispose()));
    if (results.length) console.log(`latentkit-tiny quality\n${results.join('\n')}`);
  });

  /** Scores a language once (seen prompts), reporting held-out combinations beside it. */
  function scoreOf(language: Language): Promise<Score> {
    let promise = scores.get(language);
    if (!promise) {
      promise = (async () => {
        const pipeline = await (language === 'en' ? english : multilingual);
        const result = await score(pipeline, language, seen);
        const held = await score(pipeline, language, heldout);
        const encoder = language === 'en' ? 'clip' : 'multilingual';
        results.push(
          `${language} (${encoder})`.padEnd(18) +
            ` n=${result.n} colours ${percent(result.colours)} shape ${percent(result.shape)}` +
            ` | held-out n=${held.n} colours ${percent(held.colours)} shape ${percent(held.shape)}`,
        );
        return result;
      })();
      scores.set(language, promise);
    }
    return promise;
  }

  it('uses at least 48 prompts not used to pick the checkpoint', () => {
    expect(seen.length).toBeGreaterThanOrEqual(48);
  });

  it('English: colours right ≥ 90 %, shape right ≥ 70 %', async () => {
    const result = await scoreOf('en');
    expect(result.colours).toBeGreaterThanOrEqual(0.9);
    expect(result.shape).toBeGreaterThanOrEqual(0.7);
  });

  it.each(['fr', 'es', 'de', 'zh'] as const)('%s through the multilingual encoder: colours right ≥ 85 %%', async (language) => {
    expect((await scoreOf(language)).colours).toBeGreaterThanOrEqual(0.85);
  });
});
