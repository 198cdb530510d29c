import { EMPHASIS_FACTOR, applyTokenWeights, parsePromptWeights } from './prompt-weighting';

// Weights are products of 1.1 and explicit factors; compared to 1e-12.
const close = (fragments: { text: string; weight: number }[]) => fragments.map((f) => ({ text: f.text, weight: Number(f.weight.toFixed(12)) }));

describe('parsePromptWeights', () => {
  it('leaves a plain prompt alone', () => {
    expect(parsePromptWeights('a red circle')).toEqual([{ text: 'a red circle', weight: 1 }]);
    expect(parsePromptWeights('')).toEqual([{ text: '', weight: 1 }]);
  });

  it('(x) multiplies by 1.1, ((x)) by 1.21, [x] divides by 1.1', () => {
    expect(close(parsePromptWeights('a (red) ((circle)) [blurry]'))).toEqual(
      close([
        { text: 'a ', weight: 1 },
        { text: 'red', weight: 1.1 },
        { text: ' ', weight: 1 },
        { text: 'circle', weight: 1.21 },
        { text: ' ', weight: 1 },
        { text: 'blurry', weight: 1 / 1.1 },
      ]),
    );
  });

  it('(x:1.5) sets the factor; nested groups multiply', () => {
    expect(close(parsePromptWeights('(red:1.5) (big (circle:2)) (x: 0.5 )'))).toEqual(
      close([
        { text: 'red', weight: 1.5 },
        { text: ' ', weight: 1 },
        { text: 'big ', weight: 1.1 },
        { text: 'circle', weight: 2.2 },
        { text: ' ', weight: 1 },
        { text: 'x', weight: 0.5 },
      ]),
    );
  });

  it('escaped brackets are text; a stray closer is text; an unclosed opener runs to the end', () => {
    expect(parsePromptWeights('\\(not\\) weighted')).toEqual([{ text: '(not) weighted', weight: 1 }]);
    expect(parsePromptWeights('a) b:c')).toEqual([{ text: 'a) b:c', weight: 1 }]);
    expect(close(parsePromptWeights('a (b c'))).toEqual(close([{ text: 'a ', weight: 1 }, { text: 'b c', weight: EMPHASIS_FACTOR }]));
  });
});

describe('applyTokenWeights', () => {
  it('is the identity when every weight is 1', () => {
    const states = Float32Array.from([1, 2, 3, 4]);
    applyTokenWeights(states, [1, 1], 2);
    expect(Array.from(states)).toEqual([1, 2, 3, 4]);
  });

  it('scales each token, then restores the mean (tolerance 1e-6)', () => {
    const states = Float32Array.from([1, 2, 3, 4]);
    applyTokenWeights(states, [1, 2], 2);
    // scaled: [1, 2, 6, 8] (sum 17); original sum 10 → × 10/17
    const expected = [1, 2, 6, 8].map((v) => (v * 10) / 17);
    states.forEach((v, i) => expect(Math.abs(v - expected[i]!)).toBeLessThanOrEqual(1e-6));
  });
});
