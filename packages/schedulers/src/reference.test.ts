/**
 * Every scheduler with a diffusers reference run in ../shared/reference/schedulers replays it:
 * the same timesteps, σ and initial noise scale, every step's scaled input and prev_sample, and
 * the final sample, within 1e-5 relative (max |a − b| / max(1, |b|)); the runs here reach about
 * 2e-7 because the steps repeat torch's float32 operations.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TorchGenerator } from '@latentkit/core';
import { loadReference, referenceDir, replay, skipWithoutReference } from './__fixtures__/reference';
import { schedulerFromConfig } from './scheduler-from-config';

const TOLERANCE = 1e-5;
const FILES = ['ddpm_10.json', 'ddim_10.json', 'pndm_plms_10.json', 'lms_10.json', 'euler_10.json', 'euler_ancestral_10.json', 'dpmpp_2m_10.json'];

const suite = skipWithoutReference() ? describe.skip : describe;

suite('diffusers 0.25.1 reference runs (../shared/reference/schedulers)', () => {
  for (const file of FILES) {
    it(`${file}: timesteps, sigmas, init_noise_sigma, every step and the final sample`, () => {
      const run = loadReference(file);
      const scheduler = schedulerFromConfig({ ...run.config, _class_name: run.scheduler }, {}, { onUnknownKey: () => {} });
      const result = replay(scheduler, run);
      expect(result.timestepsMatch).toBe(true);
      expect(Math.abs(scheduler.initNoiseSigma - run.init_noise_sigma)).toBeLessThanOrEqual(TOLERANCE * run.init_noise_sigma);
      if (run.sigmas) {
        const sigmas = (scheduler as unknown as { sigmas: Float32Array }).sigmas;
        run.sigmas.forEach((sigma, i) => expect(Math.abs(sigmas[i]! - sigma)).toBeLessThanOrEqual(TOLERANCE * Math.max(1, sigma)));
      }
      expect(result.worstStepError).toBeLessThan(TOLERANCE);
      expect(result.finalError).toBeLessThan(TOLERANCE);
      // Closed loop: the scheduler's own samples feed the reference model; errors compound over 10 steps.
      expect(result.closedLoopError).toBeLessThan(TOLERANCE);
    });
  }

  it('the reference initial noise is TorchGenerator(0).randn([1,4,8,8]) bit for bit', () => {
    const run = loadReference('ddim_10.json');
    expect(Array.from(new TorchGenerator(0).randn(run.shape))).toEqual(run.initial_noise.map(Math.fround));
  });

  it('alphas_cumprod of the SD schedule is bit-exact', () => {
    const { alphas_cumprod: expected } = JSON.parse(fs.readFileSync(path.join(referenceDir, 'alphas_cumprod.json'), 'utf8')) as { alphas_cumprod: number[] };
    const scheduler = schedulerFromConfig({ _class_name: 'DDIMScheduler', beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear' });
    expect(Array.from((scheduler as unknown as { alphasCumprod: Float32Array }).alphasCumprod)).toEqual(expected.map(Math.fround));
  });
});
