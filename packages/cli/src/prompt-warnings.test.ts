import { StableDiffusionPipeline } from '@latentkit/pipeline';
import { droppedWords, promptWarnings } from './prompt-warnings';

describe('words a prompt loses (latentkit-tiny tokenizers)', () => {
  let clip: StableDiffusionPipeline;
  let multilingual: StableDiffusionPipeline;
  beforeAll(async () => {
    [clip, multilingual] = await Promise.all([
      StableDiffusionPipeline.fromPretrained(undefined, { sessionOptions: { threads: 1 } }),
      StableDiffusionPipeline.fromPretrained(undefined, { textEncoder: 'multilingual', sessionOptions: { threads: 1 } }),
    ]);
  });
  afterAll(() => Promise.all([clip?.dispose(), multilingual?.dispose()]));

  it("names the multilingual tokenizer's [UNK] words", () => {
    const dropped = droppedWords(multilingual.textEncoder!.tokenizer!, 'ein türkiser Kreis auf blauem Hintergrund');
    expect(dropped.unknown).toContain('türkiser');
    expect(promptWarnings('prompt', dropped)[0]).toMatch(/^the prompt's words? .*'türkiser'.* reach the model as \[UNK\]/);
    expect(droppedWords(multilingual.textEncoder!.tokenizer!, 'a red circle on a blue background').unknown).toEqual([]);
  });

  it('names the words cut at 77 tokens, and says nothing for a short prompt', () => {
    const words = Array.from({ length: 90 }, (_, i) => `word${i}`);
    const dropped = droppedWords(clip.textEncoder!.tokenizer!, words.join(' '));
    expect(dropped.maxLength).toBe(77);
    expect(dropped.cut[dropped.cut.length - 1]).toBe('word89');
    expect(dropped.cut).not.toContain('word0');
    expect(promptWarnings('prompt', dropped)).toEqual([
      expect.stringMatching(/^the prompt is \d+ tokens but the text encoder reads 77: 'word\d+', .*'word89' are cut off; shorten it$/),
    ]);
    expect(promptWarnings('prompt', droppedWords(clip.textEncoder!.tokenizer!, 'a red circle'))).toEqual([]);
  });
});
