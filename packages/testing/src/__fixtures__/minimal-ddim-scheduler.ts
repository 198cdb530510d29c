/**
 * A minimal deterministic DDIM (Song et al. 2020, eq. 12 with η = 0) on SD's scaled-linear
 * schedule, to check that a correct scheduler passes the conformance suite.
 */
import { InvalidArgumentError, StateError, assertSameShape, createTensor, type Scheduler } from '@latentkit/core';

export function minimalDdimScheduler(): Scheduler {
  const trainSteps = 1000;
  const alphasCumprod: number[] = [];
  let product = 1;
  for (let i = 0; i < trainSteps; i++) {
    const beta = (Math.sqrt(0.00085) + (i / (trainSteps - 1)) * (Math.sqrt(0.012) - Math.sqrt(0.00085))) ** 2;
    product *= 1 - beta;
    alphasCumprod.push(product);
  }
  let timesteps: number[] = [];
  let stepRatio = 0;
  const scheduler: Scheduler = {
    specificationVersion: 'v1',
    className: 'MinimalDDIMScheduler',
    config: { num_train_timesteps: trainSteps, beta_schedule: 'scaled_linear' },
    order: 1,
    get timesteps() {
      return timesteps;
    },
    initNoiseSigma: 1,
    predictionType: 'epsilon',
    setTimesteps(steps) {
      if (!Number.isInteger(steps) || steps < 1 || steps > trainSteps) {
        throw new InvalidArgumentError({ name: 'numInferenceSteps', expected: `an integer in 1..${trainSteps}`, actual: steps });
      }
      stepRatio = Math.floor(trainSteps / steps);
      // "leading" spacing with steps_offset 1.
      timesteps = Array.from({ length: steps }, (_, i) => (steps - 1 - i) * stepRatio + 1);
    },
    scaleModelInput: (sample) => sample,
    step(modelOutput, t, sample) {
      if (timesteps.length === 0) throw new StateError('step() was called before setTimesteps(): call setTimesteps(numInferenceSteps) first');
      assertSameShape('modelOutput', sample, modelOutput);
      const alpha = alphasCumprod[t]!;
      const alphaPrev = t - stepRatio >= 0 ? alphasCumprod[t - stepRatio]! : alphasCumprod[0]!;
      const out = new Float32Array(sample.data.length);
      for (let i = 0; i < out.length; i++) {
        const eps = modelOutput.data[i]!;
        const x0 = (sample.data[i]! - Math.sqrt(1 - alpha) * eps) / Math.sqrt(alpha);
        out[i] = Math.sqrt(alphaPrev) * x0 + Math.sqrt(1 - alphaPrev) * eps;
      }
      return { prevSample: createTensor(sample.dims, out) };
    },
    addNoise(original, noise, [t = 0]) {
      const alpha = alphasCumprod[t]!;
      return createTensor(original.dims, original.data.map((x, i) => Math.sqrt(alpha) * x + Math.sqrt(1 - alpha) * noise.data[i]!));
    },
  };
  return scheduler;
}
