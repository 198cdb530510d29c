/**
 * Every scheduler passes @latentkit/testing's scheduler conformance suite (the same one a
 * third-party scheduler plugin runs), with SD 1.5's training schedule and some option variants.
 */
import { describeSchedulerConformance } from '@latentkit/testing';
import { SCHEDULER_CLASSES, schedulerFromConfig } from './scheduler-from-config';

const SD = { beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear', steps_offset: 1 };
const quiet = { onUnknownKey: () => {} };

for (const className of Object.keys(SCHEDULER_CLASSES)) {
  describeSchedulerConformance(className, () => schedulerFromConfig({ _class_name: className, ...SD }, {}, quiet));
}

const VARIANTS: [string, Record<string, unknown>][] = [
  ['DPMSolverMultistepScheduler', { algorithm_type: 'sde-dpmsolver++', use_karras_sigmas: true }],
  ['DPMSolverMultistepScheduler', { solver_order: 3, prediction_type: 'v_prediction', timestep_spacing: 'trailing' }],
  ['EulerDiscreteScheduler', { use_exponential_sigmas: true, rescale_betas_zero_snr: true, timestep_spacing: 'trailing' }],
  // No re-spaced KDPM2 ancestral here: its midpoint σ = √(σ·σ_down) equals the next σ exactly
  // (σ_down = σ_next²/σ), so its midpoint timesteps equal the next ones up to float32 rounding and
  // may exceed them by a hair (…, 538.06683, 538.06689, …), or by 0.3 where diffusers rounds the
  // Karras timesteps (…, 6.73, 7, …). That is diffusers' schedule; the suite asks for monotonic ones.
  ['KDPM2DiscreteScheduler', { use_karras_sigmas: true, prediction_type: 'v_prediction' }],
  ['PNDMScheduler', { skip_prk_steps: false }],
  ['DDIMScheduler', { thresholding: true, prediction_type: 'sample' }],
  ['UniPCMultistepScheduler', { solver_order: 3, use_karras_sigmas: true }],
];
for (const [className, options] of VARIANTS) {
  describeSchedulerConformance(`${className} ${JSON.stringify(options)}`, () => schedulerFromConfig({ _class_name: className, ...SD, ...options }, {}, quiet));
}
