/**
 * Configs whose timesteps would leave [0, num_train_timesteps) are refused at load, and a step
 * count the config cannot place fails in setTimesteps naming the limit — for every scheduler,
 * with the limit computed from the config (issue 17 item 3, issue 16 item 6).
 */
import { InvalidArgumentError } from '@latentkit/core';
import { SCHEDULER_CLASSES, schedulerFromConfig } from './scheduler-from-config';
import type { SchedulerBase, SchedulerConfig } from './scheduler-base';

const SD = { beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear' };
const quiet = { onUnknownKey: () => {} };
const make = (className: string, extra: Record<string, unknown> = {}) =>
  schedulerFromConfig({ _class_name: className, ...SD, ...extra }, {}, quiet) as unknown as SchedulerBase<SchedulerConfig>;

describe.each(Object.keys(SCHEDULER_CLASSES))('%s', (className) => {
  it.each([-5, -1, 1000, 2.5])('refuses steps_offset %p at load, naming the value and the fix', (offset) => {
    expect(() => make(className, { steps_offset: offset })).toThrow(InvalidArgumentError);
    expect(() => make(className, { steps_offset: offset })).toThrow(
      new RegExp(`${className} config\\.steps_offset must be an integer in \\[0, 999\\].*got ${String(offset).replace('.', '\\.')}: set steps_offset to 1`),
    );
  });

  it('refuses negative and NaN betas at load', () => {
    const negative = new Array<number>(1000).fill(0.01);
    negative[7] = -0.01;
    expect(() => make(className, { trained_betas: negative })).toThrow(/config\.trained_betas\[7\] must be noise variances β_t in \[0, 1\], got -0\.01/);
    expect(() => make(className, { beta_start: -0.1 })).toThrow(/must be noise variances β_t in \[0, 1\], got NaN/);
  });

  it.each(['leading', 'trailing', 'linspace'])('with %s spacing and steps_offset 1: every allowed count stays in range, one more fails naming the limit', (spacing) => {
    const scheduler = make(className, { steps_offset: 1, timestep_spacing: spacing });
    const limit = scheduler.maxInferenceSteps();
    expect(limit).toBeGreaterThanOrEqual(1);
    scheduler.setTimesteps(limit);
    expect(scheduler.timesteps.every((t) => t >= 0 && t <= 999)).toBe(true);
    if (limit < 1000) {
      expect(() => scheduler.setTimesteps(limit + 1)).toThrow(new RegExp(`must be (at most ${limit} steps|an integer in \\[1, ${limit}\\])`));
    }
  });
});

it('names the limit 999 for a 1000-step leading schedule with steps_offset 1 (DDIM, PNDM), whose 1000th step would be t = 1000', () => {
  for (const className of ['DDIMScheduler', 'PNDMScheduler', 'EulerDiscreteScheduler']) {
    const scheduler = make(className, { steps_offset: 1, timestep_spacing: 'leading' });
    expect(() => scheduler.setTimesteps(1000)).toThrow(
      `${className}.setTimesteps(numInferenceSteps) must be at most 999 steps with this config (timestep_spacing 'leading', steps_offset 1, num_train_timesteps 1000), got 1000: it would visit timestep 1000, outside [0, 999] (the training schedule); use at most 999 steps`,
    );
    expect(() => scheduler.setTimesteps(999)).not.toThrow();
  }
  expect(make('DDIMScheduler', { steps_offset: 0 }).maxInferenceSteps()).toBe(1000);
});
