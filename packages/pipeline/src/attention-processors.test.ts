/**
 * Attention processors through the pipeline on the embedded model: prompt-to-prompt re-weighting
 * of a colour word changes that colour in the image (judged from pixels).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { modelPath } from '@latentkit/model-tiny';
import { analyseShapeImage } from '@latentkit/testing';
import { OnnxUNet, reweightTokens } from '@latentkit/unet';
import { StableDiffusionPipeline } from './index';

const present = fs.existsSync(path.join(modelPath, 'model_index.json'));
const cardFile = path.resolve(modelPath, '../MODEL_CARD.md');
const preliminary = fs.existsSync(cardFile) && /PRELIMINARY/.test(fs.readFileSync(cardFile, 'utf8'));
if (!present || preliminary) console.warn('Skipping the re-weighting test: latentkit-tiny is absent or marked preliminary');

(present && !preliminary ? describe : describe.skip)('attention processors in the pipeline (latentkit-tiny)', () => {
  let pipeline: StableDiffusionPipeline;
  beforeAll(async () => {
    pipeline = await StableDiffusionPipeline.fromPretrained(undefined, { sessionOptions: { threads: 1 }, attention: 'native' });
  });
  afterAll(() => pipeline?.dispose());

  it('a re-weight of 0 on the colour word changes that colour; the rest of the prompt still holds', async () => {
    const prompt = 'a red circle on a blue background'; // tokens: 0 <start>, 1 a, 2 red, 3 circle, …
    const unet = pipeline.unet as OnnxUNet;
    expect(unet.attentionBackend).toBe('native');
    const plain = analyseShapeImage((await pipeline.textToImage({ prompt, numInferenceSteps: 25, seed: 11 })).images[0]!);
    expect(plain.foreground).toBe('red');
    unet.setAttentionProcessor(reweightTokens({ 2: 0 }));
    try {
      const reweighted = analyseShapeImage((await pipeline.textToImage({ prompt, numInferenceSteps: 25, seed: 11 })).images[0]!);
      expect(reweighted.foreground).not.toBe('red');
      expect(reweighted.background).toBe(plain.background);
    } finally {
      unet.setAttentionProcessor(undefined);
    }
  });
});
