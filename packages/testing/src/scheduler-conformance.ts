/**
 * The scheduler conformance suite: the contract in `@latentkit/core`'s `scheduler.ts`, checked on
 * a `[1, 4, 8, 8]` latent with a fixed stand-in for the UNet, so any scheduler can run it.
 */
import assert from 'node:assert/strict';
import {
  InvalidArgumentError,
  StateError,
  createTensor,
  type Generator,
  type Scheduler,
  type Tensor,
} from '@latentkit/core';
import { SeededGenerator } from './seeded-generator';
import { assertClose, assertFiniteFloat32, assertEqual } from './tensor-assertions';
import { captureError, describeError, resolveTestRunner, type TestRunner } from './test-runner';

/** Options of {@link describeSchedulerConformance}. */
export interface SchedulerConformanceOptions {
  /** Steps of the loop (default 10). */
  numInferenceSteps?: number;
  /** The noise source for stochastic schedulers (default: {@link SeededGenerator} seeded per run). */
  generator?: (seed: number) => Generator;
  runner?: TestRunner;
}

const PREDICTION_TYPES = ['epsilon', 'v_prediction', 'sample'];
const SHAPE = [1, 4, 8, 8] as const;

/**
 * The stand-in model of the shared reference data (`reference/README.md`):
 * `out = 0.1·x·cos(t/100) + 0.05·sin(x)`, a smooth function of the input and the timestep.
 *
 * @example
 * ```ts
 * const output = referenceModelOutput(scheduler.scaleModelInput(latents, t), t);
 * ```
 */
export function referenceModelOutput(sample: Tensor<Float32Array>, timestep: number): Tensor<Float32Array> {
  const out = new Float32Array(sample.data.length);
  const c = Math.cos(timestep / 100);
  for (let i = 0; i < out.length; i++) out[i] = 0.1 * sample.data[i]! * c + 0.05 * Math.sin(sample.data[i]!);
  return createTensor(sample.dims, out);
}

/** Runs a full denoising loop and returns the final latent. */
async function runLoop(scheduler: Scheduler, steps: number, generator: Generator): Promise<Tensor<Float32Array>> {
  scheduler.setTimesteps(steps);
  const noise = generator.randn(SHAPE);
  let latents: Tensor<Float32Array> = createTensor(SHAPE, noise.map((x) => x * scheduler.initNoiseSigma));
  for (const [index, t] of scheduler.timesteps.entries()) {
    const input = scheduler.scaleModelInput(latents, t);
    assertFiniteFloat32(`scaleModelInput() at step ${index} (t=${t})`, input, SHAPE);
    const output = scheduler.step(referenceModelOutput(input, t), t, latents, { generator });
    assertFiniteFloat32(`step() prevSample at step ${index} (t=${t})`, output.prevSample, SHAPE);
    latents = output.prevSample;
  }
  return latents;
}

/**
 * Registers the conformance tests of a scheduler. `factory` must return a fresh scheduler each call.
 *
 * @example
 * ```ts
 * import { describeSchedulerConformance } from '@latentkit/testing';
 * describeSchedulerConformance('DDIM', () => new DDIMScheduler());
 * ```
 */
export function describeSchedulerConformance(name: string, factory: () => Scheduler, options: SchedulerConformanceOptions = {}): void {
  const runner = resolveTestRunner(options.runner);
  const steps = options.numInferenceSteps ?? 10;
  const makeGenerator = options.generator ?? ((seed: number) => new SeededGenerator(seed));

  runner.describe(`scheduler conformance: ${name}`, () => {
    runner.it('declares the contract fields', () => {
      const s = factory();
      assertEqual(s.specificationVersion, 'v1', `specificationVersion must be 'v1', got ${String(s.specificationVersion)}`);
      assert.ok(typeof s.className === 'string' && s.className.length > 0, `className must be a non-empty string, got ${String(s.className)}`);
      assert.ok(s.config && typeof s.config === 'object', 'config must be an object of snake_case keys');
      assert.ok(Number.isInteger(s.order) && s.order >= 1, `order must be a positive integer, got ${String(s.order)}`);
      assert.ok(PREDICTION_TYPES.includes(s.predictionType), `predictionType must be one of ${PREDICTION_TYPES.join(', ')}, got ${String(s.predictionType)}`);
      for (const method of ['setTimesteps', 'scaleModelInput', 'step', 'addNoise'] as const) {
        assertEqual(typeof s[method], 'function', `${method} must be a function`);
      }
    });

    runner.it('throws StateError when step() comes before setTimesteps()', async () => {
      const s = factory();
      const sample = createTensor(SHAPE, new SeededGenerator(0).randn(SHAPE));
      const error = await captureError(() => s.step(referenceModelOutput(sample, 999), 999, sample));
      assert.ok(StateError.isInstance(error), `step() before setTimesteps() must throw StateError ("call setTimesteps first"), got ${describeError(error)}`);
    });

    runner.it(`setTimesteps(${steps}) makes a non-increasing schedule of finite timesteps and a positive initNoiseSigma`, () => {
      const s = factory();
      s.setTimesteps(steps);
      const timesteps = s.timesteps;
      assert.ok(timesteps.length >= steps, `setTimesteps(${steps}) must make at least ${steps} timesteps, got ${timesteps.length}`);
      const trainSteps = typeof s.config.num_train_timesteps === 'number' ? s.config.num_train_timesteps : Infinity;
      timesteps.forEach((t, i) => {
        assert.ok(Number.isFinite(t) && t >= 0 && t < trainSteps, `timesteps[${i}] must be finite and in [0, ${trainSteps}), got ${t}`);
        if (i > 0) assert.ok(t <= timesteps[i - 1]!, `timesteps must not increase: timesteps[${i - 1}] = ${timesteps[i - 1]}, timesteps[${i}] = ${t}`);
      });
      assert.ok(Number.isFinite(s.initNoiseSigma) && s.initNoiseSigma > 0, `initNoiseSigma must be positive and finite, got ${s.initNoiseSigma}`);
    });

    runner.it('rejects a step count that is not a positive integer with InvalidArgumentError', async () => {
      for (const bad of [0, -3, 2.5, Number.NaN]) {
        const error = await captureError(() => factory().setTimesteps(bad));
        assert.ok(InvalidArgumentError.isInstance(error), `setTimesteps(${bad}) must throw InvalidArgumentError, got ${describeError(error)}`);
      }
    });

    runner.it(`runs a full ${steps}-step loop on a [1, 4, 8, 8] latent and stays finite`, async () => {
      const final = await runLoop(factory(), steps, makeGenerator(1234));
      assertFiniteFloat32('final latent', final, SHAPE);
    });

    runner.it('repeats exactly: setTimesteps() resets all state, so a second loop with the same seed gives the same latent', async () => {
      const s = factory();
      const first = await runLoop(s, steps, makeGenerator(1234));
      const second = await runLoop(s, steps, makeGenerator(1234));
      // Tolerance 0: the same arithmetic on the same inputs.
      assertClose('second loop on the same scheduler', second.data, first.data, 0);
    });

    runner.it('rejects a model output whose shape differs from the sample with InvalidArgumentError', async () => {
      const s = factory();
      s.setTimesteps(steps);
      const t = s.timesteps[0]!;
      const sample = createTensor(SHAPE, new SeededGenerator(0).randn(SHAPE));
      const wrong = createTensor([1, 4, 8, 4], new Float32Array(128));
      const error = await captureError(() => s.step(wrong, t, sample, { generator: makeGenerator(0) }));
      assert.ok(InvalidArgumentError.isInstance(error), `step() with a [1, 4, 8, 4] model output for a [1, 4, 8, 8] sample must throw InvalidArgumentError, got ${describeError(error)}`);
    });

    runner.it('addNoise() keeps the shape and stays finite', () => {
      const s = factory();
      s.setTimesteps(steps);
      const generator = makeGenerator(7);
      const original = createTensor(SHAPE, generator.randn(SHAPE));
      const noise = createTensor(SHAPE, generator.randn(SHAPE));
      assertFiniteFloat32('addNoise()', s.addNoise(original, noise, [s.timesteps[0]!]), SHAPE);
    });
  });
}
