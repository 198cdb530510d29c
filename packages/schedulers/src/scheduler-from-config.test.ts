import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError, PluginRegistry, type Scheduler } from '@latentkit/core';
import { sharedRoot } from './__fixtures__/reference';
import { SCHEDULER_ALIASES, SCHEDULER_CLASSES, resolveSchedulerName, schedulerFromConfig, schedulerFromName } from './scheduler-from-config';
import { register, schedulerPlugin } from './scheduler-plugin';

const tinyConfigPath = path.join(sharedRoot, 'reference/tiny-sd/onnx/scheduler/scheduler_config.json');

describe('schedulerFromConfig', () => {
  const maybe = fs.existsSync(tinyConfigPath) ? it : it.skip;
  if (!fs.existsSync(tinyConfigPath)) console.warn(`skipped: ${tinyConfigPath} is absent (set LATENTKIT_SHARED)`);

  maybe("loads tiny-sd's PNDM scheduler_config.json with its training settings", () => {
    const config = JSON.parse(fs.readFileSync(tinyConfigPath, 'utf8')) as Record<string, unknown>;
    const unknown: string[] = [];
    const scheduler = schedulerFromConfig(config, {}, { onUnknownKey: (key) => unknown.push(key) });
    expect(scheduler.className).toBe('PNDMScheduler');
    // SD configs carry DDIM's clip_sample, which PNDM does not have: diffusers warns and ignores it too.
    expect(unknown).toEqual(['clip_sample']);
    expect(scheduler.config).toMatchObject({ beta_schedule: 'scaled_linear', skip_prk_steps: true, steps_offset: 1, timestep_spacing: 'leading' });
    scheduler.setTimesteps(10);
    expect(scheduler.timesteps).toEqual([901, 801, 801, 701, 601, 501, 401, 301, 201, 101, 1]);
  });

  it.each(Object.keys(SCHEDULER_CLASSES))('builds %s by class name with diffusers defaults', (className) => {
    const scheduler = schedulerFromConfig({ _class_name: className });
    expect(scheduler.className).toBe(className);
    expect(scheduler.specificationVersion).toBe('v1');
    expect(scheduler.config._class_name).toBe(className);
    expect(scheduler.config._use_default_values).toContain('num_train_timesteps');
    scheduler.setTimesteps(8);
    expect(scheduler.timesteps.length).toBeGreaterThanOrEqual(8);
  });

  it.each(Object.keys(SCHEDULER_CLASSES))('%s.clone() is a fresh scheduler of the same class and config', (className) => {
    const scheduler = schedulerFromConfig({ _class_name: className, beta_schedule: 'scaled_linear', steps_offset: 1 }, {}, { onUnknownKey: () => {} });
    scheduler.setTimesteps(10);
    const copy = scheduler.clone!();
    expect(copy).not.toBe(scheduler);
    expect(copy).toBeInstanceOf(scheduler.constructor);
    expect(copy.config).toEqual(scheduler.config);
    expect(copy.timesteps).toEqual([]); // no run state
    copy.setTimesteps(4);
    expect(scheduler.timesteps.length).toBeGreaterThanOrEqual(10);
  });

  it('applies overrides and refuses an unknown class, listing the known ones', () => {
    const scheduler = schedulerFromConfig({ _class_name: 'DPMSolverMultistepScheduler' }, { use_karras_sigmas: true });
    expect(scheduler.config.use_karras_sigmas).toBe(true);
    expect(() => schedulerFromConfig({ _class_name: 'DPMSolverSDEScheduler' })).toThrow(InvalidArgumentError);
    expect(() => schedulerFromConfig({ _class_name: 'DPMSolverSDEScheduler' })).toThrow(/one of DDPMScheduler, DDIMScheduler/);
  });
});

describe('schedulerFromName keeps the model training settings (diffusers from_config)', () => {
  const base = schedulerFromConfig({
    _class_name: 'PNDMScheduler',
    beta_start: 0.00085,
    beta_end: 0.012,
    beta_schedule: 'scaled_linear',
    steps_offset: 1,
    prediction_type: 'v_prediction',
    skip_prk_steps: true,
  });

  it('"DPM++ 2M Karras" → DPMSolverMultistepScheduler with Karras σ and the base betas', () => {
    const scheduler = schedulerFromName('DPM++ 2M Karras', base);
    expect(scheduler.className).toBe('DPMSolverMultistepScheduler');
    expect(scheduler.config).toMatchObject({ use_karras_sigmas: true, beta_schedule: 'scaled_linear', beta_start: 0.00085, prediction_type: 'v_prediction', steps_offset: 1 });
    // The base left timestep_spacing at PNDM's default, so DPM-Solver keeps its own (linspace).
    expect(scheduler.config.timestep_spacing).toBe('linspace');
  });

  it('a spacing the base config set explicitly is carried over', () => {
    const scheduler = schedulerFromName('euler', { ...base.config, timestep_spacing: 'trailing', _use_default_values: [] });
    expect(scheduler.config.timestep_spacing).toBe('trailing');
  });

  it.each([
    ['euler_a', 'EulerAncestralDiscreteScheduler', {}],
    ['Euler a', 'EulerAncestralDiscreteScheduler', {}],
    ['dpmpp_2m', 'DPMSolverMultistepScheduler', {}],
    ['dpmpp_2m_sde', 'DPMSolverMultistepScheduler', { algorithm_type: 'sde-dpmsolver++' }],
    ['DPM2 a Karras', 'KDPM2AncestralDiscreteScheduler', { use_karras_sigmas: true }],
    ['dpm2', 'KDPM2DiscreteScheduler', {}],
    ['uni_pc', 'UniPCMultistepScheduler', {}],
    ['ddim', 'DDIMScheduler', {}],
    ['PLMS', 'PNDMScheduler', { skip_prk_steps: true }],
    ['lms_karras', 'LMSDiscreteScheduler', { use_karras_sigmas: true }],
    ['heun', 'HeunDiscreteScheduler', {}],
    ['deis', 'DEISMultistepScheduler', {}],
    ['lcm', 'LCMScheduler', {}],
    ['UNIPC', 'UniPCMultistepScheduler', {}],
    ['HeunDiscreteScheduler', 'HeunDiscreteScheduler', {}],
  ])('%s → %s %j', (name, className, options) => {
    const scheduler: Scheduler = schedulerFromName(name, base);
    expect(scheduler.className).toBe(className);
    expect(scheduler.config).toMatchObject({ ...options, beta_schedule: 'scaled_linear', beta_end: 0.012 });
  });

  it('every alias names an implemented class', () => {
    for (const [name, alias] of Object.entries(SCHEDULER_ALIASES)) {
      expect(SCHEDULER_CLASSES[alias.className]).toBeDefined();
      expect(resolveSchedulerName(name)).toBe(alias);
    }
  });

  it('an unknown name is refused with examples', () => {
    expect(() => schedulerFromName('dpmpp_sde', base)).toThrow(/name must be a sampler name \(DPM\+\+ 2M, .*\) or a diffusers class name, got "dpmpp_sde"/);
  });
});

describe('scheduler plugin', () => {
  it('supports ["diffusers", <implemented class>] and declines others with a reason', () => {
    expect(schedulerPlugin.supports({ slot: 'scheduler', library: 'diffusers', className: 'EulerDiscreteScheduler' })).toBe(true);
    expect(schedulerPlugin.supports({ slot: 'scheduler', library: 'diffusers', className: 'DPMSolverSDEScheduler' })).toEqual({ reason: expect.stringContaining('not ["diffusers","DPMSolverSDEScheduler"]') });
    expect(schedulerPlugin.supports({ slot: 'scheduler', library: 'transformers', className: 'DDIMScheduler' })).not.toBe(true);
  });

  it('creates the scheduler from the component config, with overrides', async () => {
    const registry = new PluginRegistry();
    register(registry);
    register(registry); // idempotent
    expect(registry.list('scheduler')).toEqual([schedulerPlugin]);
    const scheduler = await registry.create<Scheduler>(
      'scheduler',
      { modelPath: '/m', componentPath: '/m/scheduler', entry: { slot: 'scheduler', library: 'diffusers', className: 'DDIMScheduler' }, config: { beta_schedule: 'scaled_linear' } },
      { overrides: { timestep_spacing: 'trailing' } },
    );
    expect(scheduler.className).toBe('DDIMScheduler');
    expect(scheduler.config).toMatchObject({ beta_schedule: 'scaled_linear', timestep_spacing: 'trailing' });
  });
});

describe('schedulerFromConfig warnings', () => {
  it("stays quiet about another scheduler class's keys and warns about keys no scheduler knows", () => {
    const warnings: string[] = [];
    const emit = jest.spyOn(process, 'emitWarning').mockImplementation((message) => {
      warnings.push(String(message));
    });
    try {
      // SD 1.5's PNDM config carries DDIM's clip_sample: known to a scheduler, so no warning.
      schedulerFromConfig({ _class_name: 'PNDMScheduler', clip_sample: false, skip_prk_steps: true });
      expect(warnings).toEqual([]);
      schedulerFromConfig({ _class_name: 'PNDMScheduler', beta_strat: 0.001 });
      expect(warnings).toEqual(["PNDMScheduler: ignoring unknown config key 'beta_strat'"]);
    } finally {
      emit.mockRestore();
    }
  });
});
