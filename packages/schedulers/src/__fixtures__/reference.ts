/**
 * Test helpers: the diffusers reference runs of ../shared/reference/schedulers, a generator that
 * replays recorded noise, and the reference "model" (a fixed function of the input and t).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createTensor, type Generator, type Scheduler, type Tensor } from '@latentkit/core';

export const sharedRoot = process.env.LATENTKIT_SHARED ?? path.resolve(__dirname, '../../../../../shared');
export const referenceDir = path.join(sharedRoot, 'reference', 'schedulers');
export const hasReference = fs.existsSync(path.join(referenceDir, 'index.json'));

export interface ReferenceStep {
  t: number;
  scaled_input: number[] | null;
  model_output: number[];
  noise: number[][] | null;
  prev_sample: number[];
}

export interface ReferenceRun {
  scheduler: string;
  num_inference_steps: number;
  config: Record<string, unknown>;
  shape: number[];
  timesteps: number[];
  sigmas: number[] | null;
  init_noise_sigma: number;
  initial_noise: number[];
  initial_latent: number[];
  steps: ReferenceStep[];
  final_sample: number[];
}

export function loadReference(file: string): ReferenceRun {
  return JSON.parse(fs.readFileSync(path.join(referenceDir, file), 'utf8')) as ReferenceRun;
}

/** Replays recorded noise arrays in order; throws when asked for more than were recorded. */
export class ReplayGenerator implements Generator {
  readonly specificationVersion = 'v1' as const;
  private next = 0;
  constructor(private readonly draws: readonly (readonly number[])[]) {}
  randn(dims: readonly number[]): Float32Array {
    const draw = this.draws[this.next++];
    if (!draw) throw new Error(`ReplayGenerator: draw ${this.next} was not recorded`);
    const size = dims.reduce((a, b) => a * b, 1);
    if (draw.length !== size) throw new Error(`ReplayGenerator: draw of ${draw.length} values for shape [${dims}]`);
    return Float32Array.from(draw);
  }
  manualSeed(): this {
    return this;
  }
  initialSeed(): bigint {
    return 0n;
  }
  get used(): number {
    return this.next;
  }
}

/** The reference model: float32(0.1·x·cos(t/100) + 0.05·sin(x)), evaluated in float64. */
export function fakeModel(input: Tensor<Float32Array>, t: number): Tensor<Float32Array> {
  const c = Math.cos(t / 100);
  return createTensor(input.dims, input.data.map((x) => 0.1 * x * c + 0.05 * Math.sin(x)));
}

/** max |a − b| / max(1, |b|) over all elements: a relative error that does not blow up near 0. */
export function maxRelativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    worst = Math.max(worst, Math.abs(actual[i]! - e) / Math.max(1, Math.abs(e)));
  }
  return worst;
}

export interface ReplayResult {
  worstStepError: number;
  finalError: number;
  timestepsMatch: boolean;
}

/**
 * Replays a reference run through a scheduler: feeds the recorded model outputs (so that each
 * step is compared on its own inputs) and the recorded noise, and also reports the error of the
 * fully closed loop where the scheduler's own samples feed the fake model.
 */
export function replay(scheduler: Scheduler, run: ReferenceRun): ReplayResult & { closedLoopError: number } {
  scheduler.setTimesteps(run.num_inference_steps);
  const timestepsMatch = JSON.stringify(scheduler.timesteps.map((t) => Math.fround(t))) === JSON.stringify(run.timesteps.map((t) => Math.fround(t)));
  const generator = new ReplayGenerator(run.steps.flatMap((s) => s.noise ?? []));
  // Deterministic runs get no generator, which also checks that they do not ask for one.
  const stochastic = run.steps.some((s) => s.noise !== null);
  let worstStepError = 0;
  let sample = createTensor(run.shape, Float32Array.from(run.initial_latent));
  let last: Float32Array = sample.data;
  for (const [i, step] of run.steps.entries()) {
    const scaled = scheduler.scaleModelInput(sample, step.t);
    if (step.scaled_input) worstStepError = Math.max(worstStepError, maxRelativeError(scaled.data, step.scaled_input));
    const out = scheduler.step(createTensor(run.shape, Float32Array.from(step.model_output)), step.t, sample, stochastic ? { generator } : {});
    worstStepError = Math.max(worstStepError, maxRelativeError(out.prevSample.data, step.prev_sample));
    last = out.prevSample.data;
    sample = createTensor(run.shape, Float32Array.from(run.steps[i]!.prev_sample));
  }
  const finalError = maxRelativeError(last, run.final_sample);

  scheduler.setTimesteps(run.num_inference_steps);
  const closedGenerator = new ReplayGenerator(run.steps.flatMap((s) => s.noise ?? []));
  let latent: Tensor<Float32Array> = createTensor(run.shape, Float32Array.from(run.initial_noise.map((x) => x * scheduler.initNoiseSigma)));
  for (const t of scheduler.timesteps) {
    const output = fakeModel(scheduler.scaleModelInput(latent, t), t);
    latent = scheduler.step(output, t, latent, stochastic ? { generator: closedGenerator } : {}).prevSample;
  }
  return { worstStepError, finalError, timestepsMatch, closedLoopError: maxRelativeError(latent.data, run.final_sample) };
}

export function skipWithoutReference(): boolean {
  if (!hasReference) console.warn(`skipped: diffusers reference data not found at ${referenceDir} (set LATENTKIT_SHARED)`);
  return !hasReference;
}
