import { createTensor } from '@latentkit/core';
import { schedulerFromName } from '@latentkit/schedulers';
import { channelStatistics, frechetDistance, parseShapePrompt } from '../lib/latent-distribution';
import { NaiveSubtractionScheduler, main } from '../naive-vs-scheduler';
import { describeWithEmbeddedModel, runExample, tableRow } from './example-harness';

describe('the naive sampler and the latent distance', () => {
  it('NaiveSubtractionScheduler.step returns x − ε̂ exactly and visits DDIM\'s timesteps', () => {
    const ddim = schedulerFromName('DDIMScheduler', { beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012, steps_offset: 1 });
    const naive = new NaiveSubtractionScheduler(ddim);
    naive.setTimesteps(5);
    expect(naive.timesteps).toEqual([801, 601, 401, 201, 1]);
    const sample = createTensor([1, 1, 1, 3], Float32Array.from([1, 0.5, -2]));
    const noise = createTensor([1, 1, 1, 3], Float32Array.from([0.25, 0.5, -3]));
    // Tolerance 0: one float32 subtraction of exactly representable values.
    expect(Array.from(naive.step(noise, 801, sample).prevSample.data)).toEqual([0.75, 0, 1]);
  });

  it('parseShapePrompt reads the training captions\' main form and nothing else', () => {
    expect(parseShapePrompt('a red circle on a blue background')).toEqual({ shape: 'circle', foreground: 'red', background: 'blue' });
    expect(parseShapePrompt('an orange square on a white background')).toEqual({ shape: 'square', foreground: 'orange', background: 'white' });
    expect(parseShapePrompt('a red star on a blue background')).toBeUndefined();
    expect(parseShapePrompt('un cercle rouge sur fond bleu')).toBeUndefined();
  });

  it('channelStatistics and frechetDistance match values worked by hand (tolerance 1e-12)', () => {
    // Channel 0: [1, 3] → μ 2, σ 1; channel 1: [0, 0] → μ 0, σ 0.
    const stats = channelStatistics(createTensor([1, 2, 1, 2], Float32Array.from([1, 3, 0, 0])));
    expect(stats.mean).toEqual([2, 0]);
    expect(stats.std).toEqual([1, 0]);
    // ((2−0)² + (1−1)² + (0−0)² + (0−1)²) / 2 = 2.5
    expect(frechetDistance(stats, { mean: [0, 0], std: [1, 1] })).toBeCloseTo(2.5, 12);
  });
});

describeWithEmbeddedModel('naive-vs-scheduler on the embedded model', () => {
  it('prints one row per sampler with finite distances, and a calibration row of renders the analyser reads 16/16', async () => {
    const { lines, text } = await runExample(main, ['--steps', '4', '--images', '2']);
    // The schedule at 4-step DDIM's timesteps 751, 501, 251, 1; ᾱ_t from diffusers'
    // alphas_cumprod of SD's schedule (0.055718992, 0.27499887, 0.67215115, 0.998296), to the 4 decimals printed.
    expect(tableRow(lines, '751')[1]).toBe('0.0557');
    expect(tableRow(lines, '501')[1]).toBe('0.2750');
    expect(tableRow(lines, '251')[1]).toBe('0.6722');
    expect(lines.find((line) => /^ {2}1 {2}/.test(line))).toMatch(/^ {2}1 {2}0\.9983 {2}/);
    for (const [label, steps] of [['naive x − ε̂', '4'], ['DDIM, 1 step (x̂₀)', '1'], ['DDIM', '4'], ['Euler', '4'], ['DPM-Solver++ 2M', '4']] as const) {
      const row = tableRow(lines, label);
      expect(row[1]).toBe(steps);
      for (const cell of row.slice(2, 4)) expect(Number.isFinite(Number(cell))).toBe(true);
      expect(row[4]).toMatch(/^\d+\.\d px$/);
      expect(row[5]).toMatch(/^[0-2]\/2$/);
    }
    expect(tableRow(lines, 'renders of the prompt')[5]).toBe('16/16');
    expect(text).toMatch(/images \(one row per sampler.*\): .*naive-vs-scheduler\.png/);
  });
});
