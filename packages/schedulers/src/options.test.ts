/**
 * The configuration options, checked against values diffusers produces (worked out from its
 * numpy/torch code and stated here), and the img2img entry point.
 */
import { TorchGenerator, createTensor, type Scheduler, type Tensor } from '@latentkit/core';
import { ReplayGenerator } from './__fixtures__/reference';
import { alphasCumprodFrom, betasFor, rescaleZeroTerminalSnr } from './noise-schedule';
import { schedulerFromConfig } from './scheduler-from-config';
import { karrasSigmas } from './sigmas';
import { singlestepOrders } from './scheduling-dpmsolver-singlestep';
import { roundHalfEven } from './timestep-spacing';

const SD = { beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear', steps_offset: 1 };
const quiet = { onUnknownKey: () => {} };
const make = (className: string, options: Record<string, unknown> = {}): Scheduler => schedulerFromConfig({ _class_name: className, ...SD, ...options }, {}, quiet);
const sigmasOf = (scheduler: Scheduler): number[] => Array.from((scheduler as unknown as { sigmas: Float32Array }).sigmas);
const timestepsOf = (className: string, options: Record<string, unknown>, n: number): number[] => {
  const scheduler = make(className, options);
  scheduler.setTimesteps(n);
  return [...scheduler.timesteps];
};

describe('timestep_spacing and steps_offset', () => {
  it('DDIM/DDPM: leading (+offset), trailing, linspace', () => {
    expect(timestepsOf('DDIMScheduler', {}, 10)).toEqual([901, 801, 701, 601, 501, 401, 301, 201, 101, 1]);
    expect(timestepsOf('DDPMScheduler', { steps_offset: 0 }, 4)).toEqual([750, 500, 250, 0]);
    expect(timestepsOf('DDIMScheduler', { timestep_spacing: 'trailing' }, 10)).toEqual([999, 899, 799, 699, 599, 499, 399, 299, 199, 99]);
    expect(timestepsOf('DDIMScheduler', { timestep_spacing: 'trailing' }, 3)).toEqual([999, 666, 332]);
    expect(timestepsOf('DDIMScheduler', { timestep_spacing: 'linspace' }, 10)).toEqual([999, 888, 777, 666, 555, 444, 333, 222, 111, 0]);
  });

  it('multistep solvers: n + 1 points without the last; numpy rounds halves to even', () => {
    expect(timestepsOf('DPMSolverMultistepScheduler', {}, 10)).toEqual([999, 899, 799, 699, 599, 500, 400, 300, 200, 100]);
    expect(timestepsOf('UniPCMultistepScheduler', { timestep_spacing: 'leading' }, 10)).toEqual([901, 811, 721, 631, 541, 451, 361, 271, 181, 91]);
    expect(timestepsOf('DEISMultistepScheduler', { timestep_spacing: 'trailing' }, 4)).toEqual([999, 749, 499, 249]);
    expect([0.5, 1.5, 2.5, 499.5, 498.5, 3.2].map(roundHalfEven)).toEqual([0, 2, 2, 500, 498, 3]);
  });

  it('σ schedulers: fractional linspace timesteps; leading raises initNoiseSigma to √(σ_max² + 1)', () => {
    expect(timestepsOf('EulerDiscreteScheduler', {}, 4)).toEqual([999, 666, 333, 0]);
    expect(timestepsOf('EulerDiscreteScheduler', {}, 7).map((t) => Math.fround(t))).toEqual([999, 832.5, 666, 499.5, 333, 166.5, 0]);
    const leading = make('EulerDiscreteScheduler', { timestep_spacing: 'leading' });
    leading.setTimesteps(10);
    expect([...leading.timesteps]).toEqual([901, 801, 701, 601, 501, 401, 301, 201, 101, 1]);
    const sigmaMax = sigmasOf(leading)[0]!;
    expect(leading.initNoiseSigma).toBeCloseTo(Math.sqrt(sigmaMax ** 2 + 1), 5);
  });

  it('PNDM with the Runge–Kutta warm-up: 12 PRK timesteps then PLMS', () => {
    expect(timestepsOf('PNDMScheduler', { skip_prk_steps: false }, 10)).toEqual([
      901, 851, 851, 801, 801, 751, 751, 701, 701, 651, 651, 601, 601, 501, 401, 301, 201, 101, 1,
    ]);
    expect(timestepsOf('PNDMScheduler', { skip_prk_steps: true }, 10)).toEqual([901, 801, 801, 701, 601, 501, 401, 301, 201, 101, 1]);
  });

  it('Heun and KDPM2 interleave their second evaluations', () => {
    expect(timestepsOf('HeunDiscreteScheduler', {}, 3)).toEqual([999, 499.5, 499.5, 0, 0]);
    const kdpm2 = timestepsOf('KDPM2DiscreteScheduler', {}, 3);
    expect(kdpm2).toHaveLength(5);
    expect([kdpm2[0], kdpm2[2], kdpm2[4]]).toEqual([999, 499.5, 0]);
    // The midpoint timesteps lie between their neighbours (σ_mid = √(σ·σ_next)).
    expect(kdpm2[1]).toBeLessThan(999);
    expect(kdpm2[1]).toBeGreaterThan(499.5);
  });

  it('LCM picks evenly spaced distillation timesteps (and a shorter schedule for strength < 1)', () => {
    const lcm = make('LCMScheduler', { steps_offset: 0 });
    lcm.setTimesteps(4);
    expect([...lcm.timesteps]).toEqual([999, 759, 499, 259]);
    (lcm as unknown as { setTimesteps(n: number, o: object): void }).setTimesteps(2, { strength: 0.5 });
    expect([...lcm.timesteps]).toEqual([499, 259]);
  });
});

describe('beta schedules', () => {
  it('linear and scaled_linear follow torch.linspace in float32; squaredcos_cap_v2 caps β at 0.999', () => {
    const linear = betasFor({ num_train_timesteps: 1000, beta_start: 0.0001, beta_end: 0.02, beta_schedule: 'linear', trained_betas: null }, 'test');
    expect(linear[0]).toBe(Math.fround(0.0001));
    expect(linear[999]).toBe(Math.fround(0.02));
    const cosine = betasFor({ num_train_timesteps: 1000, beta_start: 0, beta_end: 0, beta_schedule: 'squaredcos_cap_v2', trained_betas: null }, 'test');
    expect(cosine[999]).toBe(Math.fround(0.999));
    // ᾱ(t) = cos²((t/T + 0.008)/1.008·π/2): the first β is 1 − ᾱ(1/T)/ᾱ(0).
    const alphaBar = (t: number) => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
    expect(cosine[0]).toBe(Math.fround(1 - alphaBar(0.001) / alphaBar(0)));
  });

  it('trained_betas are used as given (and must have num_train_timesteps entries)', () => {
    const trained = Array.from({ length: 10 }, (_, i) => 0.01 * (i + 1));
    const scheduler = make('DDIMScheduler', { trained_betas: trained, num_train_timesteps: 10 });
    expect((scheduler as unknown as { alphasCumprod: Float32Array }).alphasCumprod[1]).toBe(Math.fround(Math.fround(0.99) * Math.fround(0.98)));
    expect(() => make('DDIMScheduler', { trained_betas: [0.1, 0.2] })).toThrow(/array of 1000 numbers/);
  });

  it('rescale_betas_zero_snr gives zero terminal SNR and keeps ᾱ_0 (Lin et al. 2023, Algorithm 1)', () => {
    const betas = betasFor({ num_train_timesteps: 1000, ...SD, trained_betas: null }, 'test');
    const rescaled = alphasCumprodFrom(rescaleZeroTerminalSnr(betas));
    expect(rescaled[999]).toBe(0);
    expect(rescaled[0]).toBeCloseTo(alphasCumprodFrom(betas)[0]!, 6);
    // Euler replaces ᾱ_T = 0 by 2⁻²⁴ so that σ_max is finite (≈ 4096).
    const euler = make('EulerDiscreteScheduler', { rescale_betas_zero_snr: true, timestep_spacing: 'trailing' });
    euler.setTimesteps(10);
    expect(sigmasOf(euler)[0]).toBeCloseTo(Math.sqrt((1 - 2 ** -24) / 2 ** -24), 0);
  });
});

describe('σ re-spacing', () => {
  it('Karras σ (Karras et al. 2022, eq. 5, ρ = 7) between the interpolated σ_min and σ_max', () => {
    const euler = make('EulerDiscreteScheduler', { use_karras_sigmas: true });
    euler.setTimesteps(5);
    const plain = make('EulerDiscreteScheduler');
    plain.setTimesteps(5);
    const [max, min] = [sigmasOf(plain)[0]!, sigmasOf(plain)[4]!];
    const expected = [0, 1, 2, 3, 4].map((i) => (max ** (1 / 7) + (i / 4) * (min ** (1 / 7) - max ** (1 / 7))) ** 7);
    sigmasOf(euler).slice(0, 5).forEach((sigma, i) => expect(sigma).toBeCloseTo(expected[i]!, 4));
    expect(sigmasOf(euler)[5]).toBe(0);
    const [first, last] = karrasSigmas(0.1, 10, 2);
    expect(first).toBeCloseTo(10, 10);
    expect(last).toBeCloseTo(0.1, 12);
  });

  it('exponential σ are evenly spaced in log σ; Karras and exponential together are refused', () => {
    const dpm = make('DPMSolverMultistepScheduler', { use_exponential_sigmas: true });
    dpm.setTimesteps(4);
    const logs = sigmasOf(dpm).slice(0, 4).map(Math.log);
    expect(logs[1]! - logs[0]!).toBeCloseTo(logs[3]! - logs[2]!, 4);
    expect(() => make('EulerDiscreteScheduler', { use_karras_sigmas: true, use_exponential_sigmas: true })).toThrow(/at most one of/);
  });

  it('DPM-Solver with Karras σ ends with a repeated σ (0.25 behaviour) and an identity last step', () => {
    const dpm = make('DPMSolverMultistepScheduler', { use_karras_sigmas: true });
    dpm.setTimesteps(20);
    const sigmas = sigmasOf(dpm);
    expect(sigmas[20]).toBe(sigmas[19]);
  });

  it('single-step DPM-Solver groups its orders as diffusers (get_order_list)', () => {
    expect(singlestepOrders(10, 2, true)).toEqual([1, 2, 1, 2, 1, 2, 1, 2, 1, 1]);
    expect(singlestepOrders(9, 2, true)).toEqual([1, 2, 1, 2, 1, 2, 1, 2, 1]);
    expect(singlestepOrders(9, 3, true)).toEqual([1, 2, 3, 1, 2, 3, 1, 2, 1]);
    expect(singlestepOrders(10, 3, true)).toEqual([1, 2, 3, 1, 2, 3, 1, 2, 3, 1]);
    expect(singlestepOrders(6, 3, false)).toEqual([1, 2, 3, 1, 2, 3]);
    // diffusers 0.25 ends an even second-order run 1, 2; ≥ 0.32 with a final σ of 0 always ends first order.
    expect(singlestepOrders(10, 2, true, 'sigma_min')).toEqual([1, 2, 1, 2, 1, 2, 1, 2, 1, 2]);
    expect(singlestepOrders(10, 2, true, 'zero')).toEqual([1, 2, 1, 2, 1, 2, 1, 2, 1, 1]);
    expect(singlestepOrders(6, 3, false, 'zero')).toEqual([1, 2, 3, 1, 2, 1]);
  });
});

describe('x̂₀ clipping and dynamic thresholding', () => {
  const dims = [1, 4, 2, 2];
  const sample = createTensor(dims, Float32Array.from({ length: 16 }, (_, i) => (i - 8) * 0.5));
  const modelOutput = createTensor(dims, Float32Array.from({ length: 16 }, (_, i) => (i % 5) - 2));

  it('clip_sample clamps x̂₀ to ±clip_sample_range (DDPM/DDIM default true)', () => {
    const ddim = make('DDIMScheduler', { clip_sample: true, clip_sample_range: 0.5 });
    ddim.setTimesteps(10);
    const { predOriginalSample } = ddim.step(modelOutput, 901, sample);
    expect(Math.max(...predOriginalSample!.data.map(Math.abs))).toBeLessThanOrEqual(0.5);
  });

  it('DDIM useClippedModelOutput re-derives ε̂ from the clipped x̂₀ (diffusers use_clipped_model_output)', () => {
    const ddim = make('DDIMScheduler', { clip_sample: true, clip_sample_range: 0.5 });
    ddim.setTimesteps(10);
    const plain = ddim.step(modelOutput, 901, sample).prevSample.data;
    const clipped = ddim.step(modelOutput, 901, sample, { useClippedModelOutput: true });
    const x0 = clipped.predOriginalSample!.data;
    const alphas = alphasCumprodFrom(betasFor({ num_train_timesteps: 1000, ...SD, trained_betas: null }, 'test'));
    const [a, aPrev] = [alphas[901]!, alphas[801]!];
    clipped.prevSample.data.forEach((v, i) => {
      const epsilon = (sample.data[i]! - Math.sqrt(a) * x0[i]!) / Math.sqrt(1 - a);
      expect(v).toBeCloseTo(Math.sqrt(aPrev) * x0[i]! + Math.sqrt(1 - aPrev) * epsilon, 5);
    });
    expect(Array.from(clipped.prevSample.data)).not.toEqual(Array.from(plain));
    expect(() => ddim.step(modelOutput, 901, sample, { useClippedModelOutput: 'yes' as never })).toThrow(/useClippedModelOutput must be true or false, got "yes"/);
  });

  it('thresholding rescales by the per-image quantile s, clamped to [1, sample_max_value] (Imagen §2.3)', () => {
    const ddpm = make('DDPMScheduler', { thresholding: true, dynamic_thresholding_ratio: 0.5, sample_max_value: 100, clip_sample: false });
    ddpm.setTimesteps(10);
    const unclipped = make('DDPMScheduler', { clip_sample: false });
    unclipped.setTimesteps(10);
    const generator = new TorchGenerator(0);
    const raw = unclipped.step(modelOutput, 901, sample, { generator }).predOriginalSample!.data;
    const thresholded = ddpm.step(modelOutput, 901, sample, { generator }).predOriginalSample!.data;
    const sorted = [...raw].map(Math.abs).sort((a, b) => a - b);
    const s = Math.max(1, Math.min(100, sorted[7]! + 0.5 * (sorted[8]! - sorted[7]!)));
    thresholded.forEach((v, i) => expect(v).toBeCloseTo(Math.min(Math.max(raw[i]!, -s), s) / s, 5));
  });
});

describe('stochastic steps', () => {
  const dims = [1, 4, 8, 8];
  const sample = createTensor(dims, new TorchGenerator(1).randn(dims));
  const modelOutput = createTensor(dims, new TorchGenerator(2).randn(dims));

  it('DDIM η: deterministic for η = 0, adds σ_t·z for η > 0 (Song et al. 2021, eq. 16)', () => {
    const ddim = make('DDIMScheduler', { set_alpha_to_one: false, clip_sample: false });
    ddim.setTimesteps(10);
    const plain = ddim.step(modelOutput, 501, sample, { eta: 0 }).prevSample.data;
    const z = new TorchGenerator(3).randn(dims);
    const noisy = ddim.step(modelOutput, 501, sample, { eta: 1, generator: new ReplayGenerator([Array.from(z)]) }).prevSample.data;
    const alphas = (ddim as unknown as { alphasCumprod: Float32Array }).alphasCumprod;
    const [a, aPrev] = [alphas[501]!, alphas[401]!];
    const std = Math.sqrt(((1 - aPrev) / (1 - a)) * (1 - a / aPrev));
    const eps = modelOutput.data;
    // With η = 1 the direction term shrinks to √(1 − ᾱ_prev − σ²)·ε̂ and σ·z is added.
    noisy.forEach((v, i) => {
      const x0 = (sample.data[i]! - Math.sqrt(1 - a) * eps[i]!) / Math.sqrt(a);
      expect(v).toBeCloseTo(Math.sqrt(aPrev) * x0 + Math.sqrt(1 - aPrev - std ** 2) * eps[i]! + std * z[i]!, 4);
    });
    expect(plain).not.toEqual(noisy);
  });

  it('sde-dpmsolver++ draws one noise tensor per step, in order', () => {
    const sde = make('DPMSolverMultistepScheduler', { algorithm_type: 'sde-dpmsolver++' });
    sde.setTimesteps(3);
    const draws = [1, 2, 3].map((seed) => Array.from(new TorchGenerator(seed).randn(dims)));
    const generator = new ReplayGenerator(draws);
    let x = sample;
    for (const t of sde.timesteps) x = sde.step(modelOutput, t, x, { generator }).prevSample;
    expect(generator.used).toBe(3);
  });

  it('KDPM2 ancestral draws at both evaluations of an interval, as diffusers', () => {
    const kdpm2a = make('KDPM2AncestralDiscreteScheduler');
    kdpm2a.setTimesteps(3);
    const generator = new ReplayGenerator(Array.from({ length: 5 }, (_, i) => Array.from(new TorchGenerator(i).randn(dims))));
    let x: Tensor<Float32Array> = createTensor(dims, sample.data.map((v) => v * kdpm2a.initNoiseSigma));
    for (const t of kdpm2a.timesteps) x = kdpm2a.step(modelOutput, t, x, { generator }).prevSample;
    expect(generator.used).toBe(kdpm2a.timesteps.length);
  });

  it('LCM: x̂₀ through the consistency boundary condition, re-noised to the next timestep (Luo et al. 2023, eq. 9)', () => {
    const lcm = make('LCMScheduler', { steps_offset: 0 });
    lcm.setTimesteps(4); // [999, 759, 499, 259]
    const alphas = (lcm as unknown as { alphasCumprod: Float32Array }).alphasCumprod;
    const z = new TorchGenerator(5).randn(dims);
    const { prevSample, predOriginalSample } = lcm.step(modelOutput, 999, sample, { generator: new ReplayGenerator([Array.from(z)]) });
    const scaled = 999 * 10;
    const cSkip = 0.25 / (scaled ** 2 + 0.25);
    const cOut = scaled / Math.sqrt(scaled ** 2 + 0.25);
    const [a, aNext] = [alphas[999]!, alphas[759]!];
    for (const i of [0, 17, 255]) {
      const x0 = (sample.data[i]! - Math.sqrt(1 - a) * modelOutput.data[i]!) / Math.sqrt(a);
      const denoised = cOut * x0 + cSkip * sample.data[i]!;
      expect(predOriginalSample!.data[i]).toBeCloseTo(denoised, 3);
      expect(prevSample.data[i]).toBeCloseTo(Math.sqrt(aNext) * denoised + Math.sqrt(1 - aNext) * z[i]!, 3);
    }
    // The last step returns the estimate itself and draws nothing.
    for (const t of [759, 499]) lcm.step(modelOutput, t, sample, { generator: new ReplayGenerator([Array.from(z)]) });
    const last = lcm.step(modelOutput, 259, sample);
    expect(last.prevSample.data).toEqual(last.predOriginalSample!.data);
  });

  it('DDPM variance types: fixed_small σ² = β̃_t, fixed_large σ² = β_t (Ho et al. 2020, §3.2)', () => {
    const noise = new TorchGenerator(6).randn(dims);
    const run = (variance_type: string) => {
      const ddpm = make('DDPMScheduler', { variance_type, clip_sample: false });
      ddpm.setTimesteps(10);
      const withNoise = ddpm.step(modelOutput, 501, sample, { generator: new ReplayGenerator([Array.from(noise)]) }).prevSample.data;
      const without = ddpm.step(modelOutput, 501, sample, { generator: new ReplayGenerator([Array.from(new Float32Array(noise.length))]) }).prevSample.data;
      return (withNoise[3]! - without[3]!) / noise[3]!;
    };
    const alphas = (make('DDPMScheduler') as unknown as { alphasCumprod: Float32Array }).alphasCumprod;
    const [a, aPrev] = [alphas[501]!, alphas[401]!];
    const beta = 1 - a / aPrev;
    expect(run('fixed_small')).toBeCloseTo(Math.sqrt(((1 - aPrev) / (1 - a)) * beta), 4);
    expect(run('fixed_small_log')).toBeCloseTo(Math.sqrt(((1 - aPrev) / (1 - a)) * beta), 4);
    expect(run('fixed_large')).toBeCloseTo(Math.sqrt(beta), 4);
  });

  it('Euler draws (unused) noise when given a generator, like diffusers, and needs none otherwise', () => {
    const euler = make('EulerDiscreteScheduler');
    euler.setTimesteps(2);
    const generator = new ReplayGenerator([Array.from(new TorchGenerator(0).randn(dims))]);
    const withGenerator = euler.step(modelOutput, 999, sample, { generator }).prevSample.data;
    expect(generator.used).toBe(1);
    euler.setTimesteps(2);
    expect(euler.step(modelOutput, 999, sample).prevSample.data).toEqual(withGenerator);
  });
});

describe('img2img: getImg2ImgTimesteps', () => {
  it('takes the last ⌊n·strength⌋ steps, times the order (diffusers StableDiffusionImg2ImgPipeline.get_timesteps)', () => {
    const ddim = make('DDIMScheduler');
    // int(10 · 0.75) = 7 steps: start at index 3.
    expect(ddim.getImg2ImgTimesteps!(10, 0.75)).toEqual({ timesteps: [601, 501, 401, 301, 201, 101, 1], startIndex: 3 });
    const heun = make('HeunDiscreteScheduler');
    const { timesteps, startIndex } = heun.getImg2ImgTimesteps!(4, 0.5);
    expect(startIndex).toBe(4);
    // Heun's 4-step schedule is [999, 666, 666, 333, 333, 0, 0]: strength ½ keeps 2 intervals.
    expect(timesteps).toEqual([333, 0, 0]);
  });

  it('σ schedulers start at the begin index: addNoise uses its σ and the first step starts there', () => {
    const euler = make('EulerDiscreteScheduler');
    const { timesteps, startIndex } = euler.getImg2ImgTimesteps!(10, 0.5);
    expect(startIndex).toBe(5);
    const dims = [1, 4, 2, 2];
    const x0 = createTensor(dims, new Float32Array(16).fill(1));
    const noise = createTensor(dims, new Float32Array(16).fill(1));
    const noised = euler.addNoise(x0, noise, [timesteps[0]!]);
    expect(noised.data[0]).toBeCloseTo(1 + sigmasOf(euler)[5]!, 5);
    const out = euler.step(createTensor(dims, new Float32Array(16)), timesteps[0]!, noised);
    expect(out.prevSample.data[0]).toBeCloseTo(noised.data[0]!, 5); // zero ε̂: x̂₀ = x, no move
  });

  it('strength outside (0, 1] is refused', () => {
    expect(() => make('DDIMScheduler').getImg2ImgTimesteps!(10, 0)).toThrow(/strength must be a number in \(0, 1\]/);
    expect(() => make('DDIMScheduler').getImg2ImgTimesteps!(10, 1.5)).toThrow(/strength/);
  });

  it('addNoise follows q(x_t | x₀) = N(√ᾱ_t·x₀, (1 − ᾱ_t)·I) per batch item', () => {
    const ddpm = make('DDPMScheduler');
    const alphas = (ddpm as unknown as { alphasCumprod: Float32Array }).alphasCumprod;
    const dims = [2, 1, 1, 2];
    const noised = ddpm.addNoise(createTensor(dims, Float32Array.from([1, 2, 3, 4])), createTensor(dims, Float32Array.from([1, 1, 1, 1])), [10, 500]);
    expect(noised.data[1]).toBeCloseTo(Math.sqrt(alphas[10]!) * 2 + Math.sqrt(1 - alphas[10]!), 6);
    expect(noised.data[3]).toBeCloseTo(Math.sqrt(alphas[500]!) * 4 + Math.sqrt(1 - alphas[500]!), 6);
  });
});
