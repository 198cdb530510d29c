/**
 * Convergence on a problem with an exact solution (Gaussian data, see
 * __fixtures__/gaussian-oracle.ts): each solver's error at the middle of the schedule (t ≈ 500,
 * away from the end of SD's schedule, where the step sizes in log σ stop shrinking) must fall at
 * the rate of its order when the step count doubles. This checks the higher-order terms that the
 * exact-path test cannot see. Observed rates are stated per case; the thresholds leave 0.2–0.4 of
 * margin. Multistep methods start with lower-order steps, so their global order is capped near 2
 * (UniPC's corrector adds one).
 */
import type { Scheduler } from '@latentkit/core';
import { errorsAlongSchedule, levelAt, levelOfSigma } from './__fixtures__/gaussian-oracle';
import { schedulerFromConfig } from './scheduler-from-config';

const SD = { beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear', steps_offset: 1, set_alpha_to_one: false, clip_sample: false, lower_order_final: false };
const STEPS = [20, 40, 80];
const sigmasOf = (scheduler: Scheduler): Float32Array => (scheduler as unknown as { sigmas: Float32Array }).sigmas;

interface Case {
  className: string;
  options?: Record<string, unknown>;
  /** The least observed order (log₂ of the error ratio) over each doubling. */
  order: number;
}

// Observed (20→40, 40→80): DDIM 1.15 1.02, Euler ~0.95, Heun ~2.0, LMS ~3, PLMS 1.4–1.9, DPM++ 2M 1.97 1.98,
// 3M 2.27 2.11, DPM-Solver 2M 1.87 1.94, single-step 2S 1.97 1.95, UniPC-2 3.0 2.6, DEIS-2 1.86 1.93, DEIS-3 2.6 2.7.
const CASES: Case[] = [
  { className: 'DDIMScheduler', order: 0.8 },
  { className: 'PNDMScheduler', options: { skip_prk_steps: true }, order: 1.2 },
  { className: 'EulerDiscreteScheduler', order: 0.8 },
  { className: 'HeunDiscreteScheduler', order: 1.7 },
  { className: 'LMSDiscreteScheduler', order: 2.2 },
  { className: 'DPMSolverMultistepScheduler', options: { solver_order: 1 }, order: 0.8 },
  { className: 'DPMSolverMultistepScheduler', order: 1.7 },
  { className: 'DPMSolverMultistepScheduler', options: { solver_type: 'heun' }, order: 1.7 },
  { className: 'DPMSolverMultistepScheduler', options: { solver_order: 3 }, order: 1.8 },
  { className: 'DPMSolverMultistepScheduler', options: { algorithm_type: 'dpmsolver' }, order: 1.6 },
  { className: 'DPMSolverMultistepScheduler', options: { algorithm_type: 'dpmsolver', solver_order: 3 }, order: 1.8 },
  { className: 'DPMSolverSinglestepScheduler', order: 1.7 },
  { className: 'UniPCMultistepScheduler', order: 2.3 },
  { className: 'DEISMultistepScheduler', order: 1.6 },
  { className: 'DEISMultistepScheduler', options: { solver_order: 3 }, order: 2.2 },
];

const isSigmaScheduler = (className: string): boolean => /Euler|LMS|Heun|KDPM2/.test(className);

/** The error where the step landing nearest t = 500 put the sample. */
function middleError(testCase: Case, steps: number): number {
  const scheduler = schedulerFromConfig({ _class_name: testCase.className, ...SD, ...testCase.options }, {}, { onUnknownKey: () => {} });
  const sigmaScheduler = isSigmaScheduler(testCase.className);
  const ratio = Math.floor(1000 / steps);
  const errors = errorsAlongSchedule(
    scheduler,
    steps,
    (s) => (sigmaScheduler ? levelOfSigma(sigmasOf(s)[0]!) : levelAt(s, s.timesteps[0]!)),
    (s, index) => {
      if (sigmaScheduler) return levelOfSigma(sigmasOf(s)[index + 1]!);
      if (/DDIM/.test(testCase.className)) return levelAt(s, s.timesteps[index]! - ratio);
      if (/PNDM/.test(testCase.className)) return index + 1 < s.timesteps.length ? levelAt(s, s.timesteps[index + 1]!) : undefined;
      return levelOfSigma(sigmasOf(s)[index + 1]!);
    },
    sigmaScheduler,
  );
  const middle = Math.floor(errors.length / 2) - 1;
  return errors[middle]!;
}

describe('solvers converge at their order on an exactly solvable problem', () => {
  for (const testCase of CASES) {
    it(`${testCase.className} ${JSON.stringify(testCase.options ?? {})}: order ≥ ${testCase.order}`, () => {
      const errors = STEPS.map((steps) => middleError(testCase, steps));
      for (let i = 1; i < errors.length; i++) expect(Math.log2(errors[i - 1]! / errors[i]!)).toBeGreaterThanOrEqual(testCase.order);
      expect(errors[errors.length - 1]).toBeLessThan(1e-2);
    });
  }
});
