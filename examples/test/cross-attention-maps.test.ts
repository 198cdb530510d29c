import * as ort from 'onnxruntime-node';
import { accumulateScores, main, wordPositions } from '../cross-attention-maps';
import { describeWithEmbeddedModel, runExample, tableRow } from './example-harness';

describe('cross-attention map helpers', () => {
  it('accumulateScores averages heads and upsamples a coarse layer to the latent size', () => {
    // 2 heads, 2×2 pixels, 3 tokens; head 0 puts everything on token 1, head 1 on token 2.
    const data = new Float32Array(2 * 4 * 3);
    for (let p = 0; p < 4; p++) {
      data[p * 3 + 1] = 1;
      data[(4 + p) * 3 + 2] = 1;
    }
    const maps = [0, 1, 2].map(() => new Float64Array(16));
    accumulateScores(new ort.Tensor('float32', data, [1, 2, 4, 3]), 4, maps);
    expect(Array.from(maps[0]!)).toEqual(new Array(16).fill(0));
    expect(Array.from(maps[1]!)).toEqual(new Array(16).fill(0.5));
    expect(Array.from(maps[2]!)).toEqual(new Array(16).fill(0.5));
  });

  it('wordPositions gives each word its token positions after the start token', () => {
    const tokenizer = { tokenize: (text: string) => ({ ids: [0, ...text.split('').map(() => 5), 1] }) }; // one token per character
    expect(wordPositions(tokenizer, 'ab c')).toEqual([
      { word: 'ab', positions: [1, 2] },
      { word: 'c', positions: [3] },
    ]);
  });
});

describeWithEmbeddedModel('cross-attention-maps on the embedded model', () => {
  it('captures probabilities that sum to 1 over the tokens, and the foreground colour word attends to the shape', async () => {
    const { lines, text } = await runExample(main, ['--prompt', 'a yellow square on a green background', '--steps', '10']);
    const deviation = Number(/largest deviation ([\d.e+-]+)/.exec(text)![1]);
    expect(deviation).toBeLessThan(1e-4); // float32 softmax rows, averaged: sums within 1e-4 of 1
    // "yellow" names the square's colour: it attends more to the square's pixels than to the background (measured 2.6×).
    expect(Number(tableRow(lines, 'yellow')[3])).toBeGreaterThan(1.5);
    expect(text).toMatch(/images \(the image, then one heatmap per word\): \S+cross-attention-maps\.png/);
  });
});
