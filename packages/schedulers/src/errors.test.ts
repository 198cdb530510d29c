/** Bad input fails before any compute, with errors that name the value, the expectation and the fix. */
import { InvalidArgumentError, StateError, createTensor } from '@latentkit/core';
import { SCHEDULER_CLASSES, schedulerFromConfig } from './scheduler-from-config';

const SD = { beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear', steps_offset: 1 };
const dims = [1, 4, 2, 2];
const tensor = (value = 0.5) => createTensor(dims, new Float32Array(16).fill(value));
const STOCHASTIC = new Set(['DDPMScheduler', 'EulerAncestralDiscreteScheduler', 'KDPM2AncestralDiscreteScheduler', 'LCMScheduler']);

describe.each(Object.keys(SCHEDULER_CLASSES))('%s rejects bad input', (className) => {
  const make = () => schedulerFromConfig({ _class_name: className, ...SD }, {}, { onUnknownKey: () => {} });

  it('step and scaleModelInput before setTimesteps: StateError saying to call setTimesteps', () => {
    const scheduler = make();
    expect(() => scheduler.step(tensor(), 999, tensor())).toThrow(StateError);
    expect(() => scheduler.step(tensor(), 999, tensor())).toThrow(/before setTimesteps\(\): call scheduler\.setTimesteps\(numInferenceSteps\) first/);
    expect(() => scheduler.scaleModelInput(tensor(), 999)).toThrow(StateError);
  });

  it('a timestep not in the schedule', () => {
    const scheduler = make();
    scheduler.setTimesteps(4);
    expect(() => scheduler.step(tensor(), 123.25, tensor())).toThrow(InvalidArgumentError);
    expect(() => scheduler.step(tensor(), 123.25, tensor())).toThrow(/timestep must be one of this schedule's timesteps \[.*got 123\.25: pass the values of scheduler\.timesteps/);
  });

  it('model output and sample of different shapes', () => {
    const scheduler = make();
    scheduler.setTimesteps(4);
    const wrong = createTensor([1, 4, 2, 4], new Float32Array(32));
    expect(() => scheduler.step(wrong, scheduler.timesteps[0]!, tensor())).toThrow(/modelOutput must be the sample's shape \[1, 4, 2, 2\], got "\[1, 4, 2, 4\]"/);
  });

  it('NaN in the model output or the sample', () => {
    const scheduler = make();
    scheduler.setTimesteps(4);
    const bad = tensor();
    bad.data[3] = Number.NaN;
    expect(() => scheduler.step(bad, scheduler.timesteps[0]!, tensor())).toThrow(/modelOutput must be finite values, got NaN: element 3 is not finite/);
    expect(() => scheduler.step(tensor(), scheduler.timesteps[0]!, bad)).toThrow(/sample must be finite values/);
  });

  it('explicit timesteps or sigmas, which it does not take, instead of ignoring them', () => {
    const scheduler = make();
    expect(() => scheduler.setTimesteps(2, { timesteps: [999, 500] })).toThrow(/setTimesteps\(n, \{ timesteps \}\) must be undefined, got \[999, 500\]: .* builds its schedule from numInferenceSteps/);
    expect(() => scheduler.setTimesteps(2, { sigmas: [14, 1] })).toThrow(InvalidArgumentError);
  });

  it('a step count out of range', () => {
    const scheduler = make();
    expect(() => scheduler.setTimesteps(0)).toThrow(InvalidArgumentError);
    expect(() => scheduler.setTimesteps(2.5)).toThrow(/setTimesteps\(numInferenceSteps\) must be an integer/);
  });

  it(STOCHASTIC.has(className) ? 'a stochastic step without a generator names the fix' : 'a deterministic step needs no generator', () => {
    const scheduler = make();
    scheduler.setTimesteps(4);
    const t = scheduler.timesteps[0]!;
    const input = createTensor(dims, tensor().data.map((v) => v * scheduler.initNoiseSigma));
    if (STOCHASTIC.has(className)) {
      expect(() => scheduler.step(tensor(), t, input)).toThrow(/options\.generator must be a Generator \(e\.g\. new TorchGenerator\(seed\) from @latentkit\/core\), got undefined/);
    } else {
      expect(() => scheduler.step(tensor(), t, input)).not.toThrow();
    }
  });
});

describe('configuration errors', () => {
  it('unknown config keys are reported (once per key), known ones are not', () => {
    const unknown: string[] = [];
    schedulerFromConfig({ _class_name: 'EulerDiscreteScheduler', ...SD, skip_prk_steps: true, clip_sample: false }, {}, { onUnknownKey: (key) => unknown.push(key) });
    expect(unknown.sort()).toEqual(['clip_sample', 'skip_prk_steps']);
  });

  it('bad enumerations name the allowed values', () => {
    expect(() => schedulerFromConfig({ _class_name: 'DDIMScheduler', beta_schedule: 'cosine' })).toThrow(
      /DDIMScheduler config\.beta_schedule must be 'linear' \| 'scaled_linear' \| 'squaredcos_cap_v2', got "cosine"/,
    );
    expect(() => schedulerFromConfig({ _class_name: 'EulerDiscreteScheduler', timestep_spacing: 'uniform' })).toThrow(/'leading' \| 'trailing' \| 'linspace'/);
    expect(() => schedulerFromConfig({ _class_name: 'PNDMScheduler', prediction_type: 'sample' })).toThrow(/PNDMScheduler config\.prediction_type must be 'epsilon' \| 'v_prediction'/);
    expect(() => schedulerFromConfig({ _class_name: 'DPMSolverMultistepScheduler', algorithm_type: 'deis' })).toThrow(/use DEISMultistepScheduler/);
    expect(() => schedulerFromConfig({ _class_name: 'DPMSolverMultistepScheduler', solver_order: 4 })).toThrow(/solver_order must be an integer in \[1, 3\]/);
    expect(() => schedulerFromConfig({ _class_name: 'DDPMScheduler', variance_type: 'learned_range' })).toThrow(/variance_type/);
  });

  it('PRK warm-up needs at least 4 steps', () => {
    const pndm = schedulerFromConfig({ _class_name: 'PNDMScheduler' });
    expect(() => pndm.setTimesteps(3)).toThrow(/at least 4 steps with the Runge–Kutta warm-up.*skip_prk_steps: true/);
  });

  it('a run past its last timestep', () => {
    const euler = schedulerFromConfig({ _class_name: 'EulerDiscreteScheduler' });
    euler.setTimesteps(1);
    const t = euler.timesteps[0]!;
    euler.step(tensor(), t, tensor());
    expect(() => euler.step(tensor(), t, tensor())).toThrow(/after the last of 1 timesteps: call setTimesteps\(\) again/);
  });
});
