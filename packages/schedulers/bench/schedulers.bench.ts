/**
 * One `step` of every scheduler on a [2, 4, 128, 128] latent (SDXL-sized, batch 2), timed at
 * steady state: each scheduler runs a whole 30-step schedule and the median step time is kept.
 * The baseline, measured in the same run, is the least any step must do: read two inputs and write
 * one freshly allocated output (`out = x + c·ε`). Also reports the bytes each step allocates.
 *
 *   pnpm bench            (from packages/schedulers)
 */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { TorchGenerator, createTensor, type Scheduler, type Tensor } from '@latentkit/core';
import { SCHEDULER_CLASSES, schedulerFromConfig } from '../src';

const DIMS = [2, 4, 128, 128];
const SIZE = DIMS.reduce((a, b) => a * b, 1);
const STEPS = 30;
const SD = { beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear', steps_offset: 1, set_alpha_to_one: false };

// A full collection before each step, so that the step's allocations are measured alone (and
// no collection of earlier garbage lands inside a timed step).
v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

const sample = createTensor(DIMS, new TorchGenerator(1).randn(DIMS));
const modelOutput = createTensor(DIMS, new TorchGenerator(2).randn(DIMS).map((v) => v * 0.5));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** The floor: one fused multiply-add pass into a new array. */
function baseline(): number {
  const times: number[] = [];
  for (let r = 0; r < 60; r++) {
    const start = process.hrtime.bigint();
    const out = new Float32Array(SIZE);
    const x = sample.data;
    const e = modelOutput.data;
    for (let i = 0; i < SIZE; i++) out[i] = x[i]! + 0.5 * e[i]!;
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
    if (out[0] === 42) console.log('');
  }
  return median(times);
}

/** Schedulers that draw noise get a generator (the draw is part of their step); the others get none. */
const STOCHASTIC = /DDPM|Ancestral|LCM|sde-/;

function runSchedule(scheduler: Scheduler, generator: TorchGenerator | undefined): { median: number; bytes: number } {
  scheduler.setTimesteps(STEPS);
  const times: number[] = [];
  const bytes: number[] = [];
  let input: Tensor<Float32Array> = createTensor(DIMS, sample.data.map((v) => v * scheduler.initNoiseSigma));
  for (const t of scheduler.timesteps) {
    const scaled = scheduler.scaleModelInput(input, t);
    collectGarbage();
    const before = process.memoryUsage().arrayBuffers;
    const start = process.hrtime.bigint();
    const out = scheduler.step(modelOutput, t, input, generator ? { generator } : {});
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
    bytes.push(process.memoryUsage().arrayBuffers - before);
    if (scaled.data.length !== SIZE) throw new Error('bad scale');
    // Keep the samples bounded and the schedule's state realistic: feed the step its own output.
    input = out.prevSample;
  }
  // The first steps fill the multistep histories; the steady state is what repeats.
  return { median: median(times), bytes: median(bytes.slice(4)) };
}

function main(): void {
  const cases: [string, Record<string, unknown>][] = [
    ...Object.keys(SCHEDULER_CLASSES).map((name): [string, Record<string, unknown>] => [name, {}]),
    ['DPMSolverMultistepScheduler', { solver_order: 3 }],
    ['DPMSolverMultistepScheduler', { algorithm_type: 'sde-dpmsolver++', use_karras_sigmas: true }],
    ['DDIMScheduler', { thresholding: true }],
  ];
  baseline(); // warm up
  const floor = baseline();
  console.log(`one step on [${DIMS.join(', ')}] (${SIZE} floats), median of ${STEPS}-step schedules, node ${process.version}`);
  console.log(`baseline out = x + c·ε into a new array: ${floor.toFixed(3)} ms`);
  console.log('scheduler'.padEnd(64) + 'ms/step'.padStart(9) + 'ratio'.padStart(8) + 'MiB alloc/step'.padStart(16));
  for (const [className, options] of cases) {
    const scheduler = schedulerFromConfig({ _class_name: className, ...SD, ...options }, {}, { onUnknownKey: () => {} });
    const label = `${className}${Object.keys(options).length ? ' ' + JSON.stringify(options) : ''}`;
    const stochastic = STOCHASTIC.test(label);
    runSchedule(scheduler, stochastic ? new TorchGenerator(0) : undefined); // warm up the JIT
    const { median: ms, bytes } = runSchedule(scheduler, stochastic ? new TorchGenerator(0) : undefined);
    console.log(label.padEnd(64) + ms.toFixed(3).padStart(9) + (ms / floor).toFixed(2).padStart(8) + (bytes / 2 ** 20).toFixed(2).padStart(16));
  }
  console.log(`(0.5 MiB = one [${DIMS.join(', ')}] float32 tensor; a step returns prevSample and, where computed, predOriginalSample;`);
  console.log(' stochastic schedulers include their TorchGenerator.randn draw of one tensor)');
  const generator = new TorchGenerator(0);
  generator.randn(DIMS);
  const start = process.hrtime.bigint();
  generator.randn(DIMS);
  console.log(`TorchGenerator.randn([${DIMS.join(', ')}]) alone: ${(Number(process.hrtime.bigint() - start) / 1e6).toFixed(3)} ms`);
}

main();
