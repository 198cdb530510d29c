/**
 * Configs whose timesteps would leave [0, num_train_timesteps) are refused at load, and a step
 * count the config cannot place fails in setTimesteps naming the limit — for every scheduler,
 * with the limit computed from the config (issue 17 item 3, issue 16 item 6).
 */
import { InvalidArgumentError, TorchGenerator, createTensor } from '@latentkit/core';
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

  it('one step (SD 1.5 config, PLMS without warm-up): the schedule holds only timesteps in range, and the step is finite', () => {
    const scheduler = make(className, { steps_offset: 1, skip_prk_steps: true, set_alpha_to_one: false });
    scheduler.setTimesteps(1);
    // PNDM once gave [1, undefined] here (a JS index where diffusers slices with numpy).
    expect(scheduler.timesteps.length).toBeGreaterThanOrEqual(1);
    expect(scheduler.timesteps.every((t) => Number.isFinite(t) && t >= 0 && t <= 999)).toBe(true);
    const sample = createTensor([1, 4, 2, 2], Float32Array.from({ length: 16 }, (_, i) => Math.sin(i + 1)));
    const noise = createTensor([1, 4, 2, 2], Float32Array.from({ length: 16 }, (_, i) => Math.cos(i + 1)));
    const input = scheduler.scaleModelInput(sample, scheduler.timesteps[0]!);
    const { prevSample } = scheduler.step(noise, scheduler.timesteps[0]!, input, { generator: new TorchGenerator(1) });
    expect(Array.from(prevSample.data).every(Number.isFinite)).toBe(true);
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
