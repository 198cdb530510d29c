import { createTensor } from '@latentkit/core';
import { collectingRunner, failureOf } from './__fixtures__/collecting-runner';
import { minimalDdimScheduler } from './__fixtures__/minimal-ddim-scheduler';
import { describeSchedulerConformance, referenceModelOutput } from './scheduler-conformance';

describeSchedulerConformance('minimal DDIM', minimalDdimScheduler);

describe('describeSchedulerConformance catches broken schedulers', () => {
  it('registers every check, and a correct scheduler fails none', async () => {
    const runner = collectingRunner();
    describeSchedulerConformance('ok', minimalDdimScheduler, { runner });
    expect(runner.tests.length).toBe(8);
    expect([...(await runner.run()).keys()]).toEqual([]);
  });

  it('reports a step() before setTimesteps() that does not throw StateError', async () => {
    const runner = collectingRunner();
    describeSchedulerConformance('lenient', () => {
      const s = minimalDdimScheduler();
      const step = s.step.bind(s);
      return Object.assign(s, { step: (...args: Parameters<typeof step>) => (s.timesteps.length ? step(...args) : { prevSample: args[2] }) });
    }, { runner });
    const failures = await runner.run();
    expect([...failures.keys()]).toEqual(['scheduler conformance: lenient > throws StateError when step() comes before setTimesteps()']);
    expect(failureOf(failures, 'StateError')?.message).toBe(
      'step() before setTimesteps() must throw StateError ("call setTimesteps first"), got nothing (it succeeded)',
    );
  });

  it('reports a scheduler that keeps state across setTimesteps()', async () => {
    const runner = collectingRunner();
    describeSchedulerConformance('stateful', () => {
      const s = minimalDdimScheduler();
      const step = s.step.bind(s);
      let calls = 0;
      // A drift that grows with every step ever taken, never reset.
      return Object.assign(s, {
        step: (...args: Parameters<typeof step>) => {
          const { prevSample } = step(...args);
          return { prevSample: createTensor(prevSample.dims, prevSample.data.map((x) => x + 1e-3 * ++calls)) };
        },
      });
    }, { runner });
    const failures = await runner.run();
    expect([...failures.keys()]).toEqual([
      'scheduler conformance: stateful > repeats exactly: setTimesteps() resets all state, so a second loop with the same seed gives the same latent',
    ]);
  });

  it('reports NaN latents with the step and timestep where they appear', async () => {
    const runner = collectingRunner();
    describeSchedulerConformance('nan', () => {
      const s = minimalDdimScheduler();
      const step = s.step.bind(s);
      return Object.assign(s, {
        step: (...args: Parameters<typeof step>) => (args[1] < 400 ? { prevSample: createTensor(args[2].dims, args[2].data.map(() => Number.NaN)) } : step(...args)),
      });
    }, { runner });
    const failures = await runner.run();
    expect(failureOf(failures, 'full 10-step loop')?.message).toBe('step() prevSample at step 6 (t=301) must be finite, but element 0 of 256 is NaN');
  });

  it("uses the reference data's stand-in model 0.1·x·cos(t/100) + 0.05·sin(x)", () => {
    const out = referenceModelOutput(createTensor([1, 2], new Float32Array([1, -2])), 100);
    // Tolerance 1e-7: float32 rounding of values near 0.1.
    expect(out.data[0]).toBeCloseTo(0.1 * Math.cos(1) + 0.05 * Math.sin(1), 7);
    expect(out.data[1]).toBeCloseTo(-0.2 * Math.cos(1) + 0.05 * Math.sin(-2), 7);
  });
});
