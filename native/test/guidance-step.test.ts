/**
 * The fused guidance + step kernel that native/bench measures (it is not on the generation path:
 * see the README). Native and TypeScript twin agree bit for bit, and the coefficients reproduce
 * the schedulers' steps.
 */
import { guidanceStep, guidanceStepJs } from '../bench/guidance-step';
import { ddimStepCoefficients, eulerAncestralStepCoefficients, eulerStepCoefficients } from '../bench/scheduler-coefficients';
import { addonLoadResult } from '../src/load-addon';
import { randomArray, sameBits, seededRandom } from '../src/__fixtures__/attention-reference';
import { readReference } from '../src/__fixtures__/shared-reference';

const { addon } = addonLoadResult();

describe('guidanceStep', () => {
  const random = seededRandom(31);
  const n = 2 * 4 * 17 * 13 + 3; // odd length: vector tails
  const sample = randomArray(n, random, 3);
  const uncond = randomArray(n, random, 1);
  const cond = randomArray(n, random, 1);
  const noise = randomArray(n, random, 1);

  test('computes uncond + g·(cond − uncond), then a·sample + b·guided + c·noise (float64, rounded once)', () => {
    const out = new Float32Array(n).fill(NaN);
    const guided = new Float32Array(n).fill(NaN);
    guidanceStep({ sample, uncond, cond, noise, guidanceScale: 7.5, sampleCoefficient: 0.9, predictionCoefficient: -0.3, noiseCoefficient: 0.2, out, guidedOut: guided });
    for (let i = 0; i < n; i++) {
      const g = uncond[i]! + 7.5 * (cond[i]! - uncond[i]!);
      expect(guided[i]).toBe(Math.fround(g));
      expect(out[i]).toBe(Math.fround(0.9 * sample[i]! + -0.3 * g + 0.2 * noise[i]!));
    }
  });

  const describeNative = addon ? describe : describe.skip;
  describeNative('native kernel and TypeScript twin', () => {
    test.each([
      ['with guidance and noise', true, true],
      ['with guidance, no noise', true, false],
      ['without guidance', false, false],
    ])('give identical bits %s', (_label, withCond, withNoise) => {
      for (const length of [1, 7, n, 300_001]) {
        const r = seededRandom(length);
        const s = randomArray(length, r, 3), u = randomArray(length, r), c = randomArray(length, r), z = randomArray(length, r);
        const native = new Float32Array(length).fill(NaN), nativeGuided = new Float32Array(length).fill(NaN);
        const twin = new Float32Array(length), twinGuided = new Float32Array(length);
        addon!.guidanceStep(native, nativeGuided, s, u, withCond ? c : null, withNoise ? z : null, 5.5, 1.01, -0.77, 0.13);
        guidanceStepJs(twin, twinGuided, s, u, withCond ? c : null, withNoise ? z : null, 5.5, 1.01, -0.77, 0.13);
        expect(sameBits(native, twin)).toBe(true);
        expect(sameBits(nativeGuided, twinGuided)).toBe(true);
      }
    });
  });

  test('in place: out may be the sample itself', () => {
    const x = sample.slice();
    const expected = guidanceStep({ sample, uncond, cond, sampleCoefficient: 1, predictionCoefficient: -0.5 });
    expect(guidanceStep({ sample: x, uncond, cond, sampleCoefficient: 1, predictionCoefficient: -0.5, out: x })).toBe(x);
    expect(x).toEqual(expected);
  });
});

// The schedulers' own trajectories from HuggingFace diffusers (see /work/shared/reference/README.md):
// each step's prev_sample must follow from its sample and model_output through guidanceStep.
interface SchedulerReference {
  timesteps: number[];
  sigmas: number[] | null;
  initial_latent: number[];
  steps: { t: number; model_output: number[]; noise: number[][] | null; prev_sample: number[] }[];
}

function replay(reference: SchedulerReference, coefficients: (index: number) => ReturnType<typeof eulerStepCoefficients>): number {
  let worst = 0;
  let sample = Float32Array.from(reference.initial_latent);
  reference.steps.forEach((step, index) => {
    const noise = step.noise ? Float32Array.from(step.noise[0]!) : undefined;
    const next = guidanceStep({ sample, uncond: Float32Array.from(step.model_output), noise, ...coefficients(index) });
    step.prev_sample.forEach((expected, i) => (worst = Math.max(worst, Math.abs(next[i]! - expected) / Math.max(1, Math.abs(expected)))));
    sample = Float32Array.from(step.prev_sample); // each step from diffusers' own input
  });
  return worst;
}

describe('scheduler coefficients reproduce diffusers 0.25.1 trajectories', () => {
  // diffusers computes in float32 and in another order (x̂₀ first); we compute in float64 and
  // round once, so a step agrees to a few float32 ulps: relative tolerance 2e-6.
  const TOLERANCE = 2e-6;
  const euler = readReference<SchedulerReference>('schedulers/euler_10.json');
  (euler ? test : test.skip)('EulerDiscreteScheduler', () => {
    const sigmas = euler!.sigmas!;
    expect(replay(euler!, (i) => eulerStepCoefficients(sigmas[i]!, sigmas[i + 1]!))).toBeLessThanOrEqual(TOLERANCE);
  });

  const ancestral = readReference<SchedulerReference>('schedulers/euler_ancestral_10.json');
  (ancestral ? test : test.skip)('EulerAncestralDiscreteScheduler (with its recorded noise)', () => {
    const sigmas = ancestral!.sigmas!;
    expect(replay(ancestral!, (i) => eulerAncestralStepCoefficients(sigmas[i]!, sigmas[i + 1]!))).toBeLessThanOrEqual(TOLERANCE);
  });

  const ddim = readReference<SchedulerReference>('schedulers/ddim_10.json');
  const alphas = readReference<{ alphas_cumprod: number[] }>('schedulers/alphas_cumprod.json');
  (ddim && alphas ? test : test.skip)('DDIMScheduler (η = 0, set_alpha_to_one false)', () => {
    const cumprod = alphas!.alphas_cumprod;
    const stepRatio = 1000 / ddim!.steps.length;
    const worst = replay(ddim!, (i) => {
      const t = ddim!.timesteps[i]!;
      const previous = t - stepRatio;
      return ddimStepCoefficients(cumprod[t]!, previous >= 0 ? cumprod[previous]! : cumprod[0]!);
    });
    expect(worst).toBeLessThanOrEqual(TOLERANCE);
  });
});

describe('guidanceStep rejects bad arguments', () => {
  const x = new Float32Array(8);
  test.each<[string, () => unknown, ErrorConstructor, RegExp]>([
    ['guidanceStep without coefficients', () => guidanceStep({ sample: x, uncond: x } as never), TypeError, /sampleCoefficient must be a number/],
    ['guidanceStep short cond', () => guidanceStep({ sample: x, uncond: x, cond: new Float32Array(4), sampleCoefficient: 1, predictionCoefficient: 1 }), RangeError, /cond has 4 elements; expected 8/],
    ['guidanceStep partial overlap', () => {
      const buffer = new Float32Array(12);
      return guidanceStep({ sample: buffer.subarray(0, 8), uncond: x, sampleCoefficient: 1, predictionCoefficient: 1, out: buffer.subarray(2, 10) });
    }, RangeError, /out partly overlaps sample/],
    ['guidanceStep infinite scale', () => guidanceStep({ sample: x, uncond: x, cond: x, guidanceScale: Infinity, sampleCoefficient: 1, predictionCoefficient: 1 }), RangeError, /guidanceScale must be a finite number/],
  ])('%s', (_name, call, type, message) => {
    expect(call).toThrow(type);
    expect(call).toThrow(message);
  });
});
