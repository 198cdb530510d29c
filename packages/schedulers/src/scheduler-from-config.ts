/**
 * Picking a scheduler from a diffusers config (`_class_name`) or from the sampler names people
 * know from other tools ("DPM++ 2M Karras", `euler_a`, `uni_pc`, …).
 */
import { InvalidArgumentError, type Scheduler } from '@latentkit/core';
import type { SchedulerOptions } from './scheduler-base';
import { DDIMScheduler, DDIM_DEFAULTS } from './scheduling-ddim';
import { DDPMScheduler, DDPM_DEFAULTS } from './scheduling-ddpm';
import { DEISMultistepScheduler, DEIS_MULTISTEP_DEFAULTS } from './scheduling-deis-multistep';
import { DPMSolverMultistepScheduler, DPM_SOLVER_MULTISTEP_DEFAULTS } from './scheduling-dpmsolver-multistep';
import { DPMSolverSinglestepScheduler, DPM_SOLVER_SINGLESTEP_DEFAULTS } from './scheduling-dpmsolver-singlestep';
import { EULER_ANCESTRAL_DEFAULTS, EulerAncestralDiscreteScheduler } from './scheduling-euler-ancestral-discrete';
import { EULER_DISCRETE_DEFAULTS, EulerDiscreteScheduler } from './scheduling-euler-discrete';
import { HEUN_DISCRETE_DEFAULTS, HeunDiscreteScheduler } from './scheduling-heun-discrete';
import { KDPM2AncestralDiscreteScheduler, KDPM2_ANCESTRAL_DISCRETE_DEFAULTS } from './scheduling-k-dpm-2-ancestral-discrete';
import { KDPM2DiscreteScheduler, KDPM2_DISCRETE_DEFAULTS } from './scheduling-k-dpm-2-discrete';
import { LCMScheduler, LCM_DEFAULTS } from './scheduling-lcm';
import { LMSDiscreteScheduler, LMS_DISCRETE_DEFAULTS } from './scheduling-lms-discrete';
import { PNDMScheduler, PNDM_DEFAULTS } from './scheduling-pndm';
import { UNIPC_MULTISTEP_DEFAULTS, UniPCMultistepScheduler } from './scheduling-unipc-multistep';

type SchedulerConstructor = new (config?: Readonly<Record<string, unknown>>, options?: SchedulerOptions) => Scheduler;

/** Every implemented scheduler by its diffusers class name, with its config defaults. */
export const SCHEDULER_CLASSES: Readonly<Record<string, { create: SchedulerConstructor; defaults: object }>> = Object.freeze({
  DDPMScheduler: { create: DDPMScheduler, defaults: DDPM_DEFAULTS },
  DDIMScheduler: { create: DDIMScheduler, defaults: DDIM_DEFAULTS },
  PNDMScheduler: { create: PNDMScheduler, defaults: PNDM_DEFAULTS },
  LMSDiscreteScheduler: { create: LMSDiscreteScheduler, defaults: LMS_DISCRETE_DEFAULTS },
  EulerDiscreteScheduler: { create: EulerDiscreteScheduler, defaults: EULER_DISCRETE_DEFAULTS },
  EulerAncestralDiscreteScheduler: { create: EulerAncestralDiscreteScheduler, defaults: EULER_ANCESTRAL_DEFAULTS },
  HeunDiscreteScheduler: { create: HeunDiscreteScheduler, defaults: HEUN_DISCRETE_DEFAULTS },
  KDPM2DiscreteScheduler: { create: KDPM2DiscreteScheduler, defaults: KDPM2_DISCRETE_DEFAULTS },
  KDPM2AncestralDiscreteScheduler: { create: KDPM2AncestralDiscreteScheduler, defaults: KDPM2_ANCESTRAL_DISCRETE_DEFAULTS },
  DPMSolverMultistepScheduler: { create: DPMSolverMultistepScheduler, defaults: DPM_SOLVER_MULTISTEP_DEFAULTS },
  DPMSolverSinglestepScheduler: { create: DPMSolverSinglestepScheduler, defaults: DPM_SOLVER_SINGLESTEP_DEFAULTS },
  UniPCMultistepScheduler: { create: UniPCMultistepScheduler, defaults: UNIPC_MULTISTEP_DEFAULTS },
  DEISMultistepScheduler: { create: DEISMultistepScheduler, defaults: DEIS_MULTISTEP_DEFAULTS },
  LCMScheduler: { create: LCMScheduler, defaults: LCM_DEFAULTS },
});

/** A sampler name from another tool: the diffusers class and the options that make it. */
export interface SchedulerAlias {
  readonly className: string;
  readonly options: Readonly<Record<string, unknown>>;
}

const karras = { use_karras_sigmas: true } as const;
const sde = { algorithm_type: 'sde-dpmsolver++' } as const;

/**
 * Sampler names of AUTOMATIC1111 (`"DPM++ 2M Karras"`) and of k-diffusion/ComfyUI (`dpmpp_2m`,
 * `euler_ancestral`, …), after diffusers' table of equivalents. Lookup ignores case.
 */
export const SCHEDULER_ALIASES: Readonly<Record<string, SchedulerAlias>> = Object.freeze({
  'DPM++ 2M': { className: 'DPMSolverMultistepScheduler', options: {} },
  'DPM++ 2M Karras': { className: 'DPMSolverMultistepScheduler', options: karras },
  'DPM++ 2M SDE': { className: 'DPMSolverMultistepScheduler', options: sde },
  'DPM++ 2M SDE Karras': { className: 'DPMSolverMultistepScheduler', options: { ...sde, ...karras } },
  'DPM++ 2S': { className: 'DPMSolverSinglestepScheduler', options: {} },
  'DPM++ 2S Karras': { className: 'DPMSolverSinglestepScheduler', options: karras },
  DPM2: { className: 'KDPM2DiscreteScheduler', options: {} },
  'DPM2 Karras': { className: 'KDPM2DiscreteScheduler', options: karras },
  'DPM2 a': { className: 'KDPM2AncestralDiscreteScheduler', options: {} },
  'DPM2 a Karras': { className: 'KDPM2AncestralDiscreteScheduler', options: karras },
  Euler: { className: 'EulerDiscreteScheduler', options: {} },
  'Euler Karras': { className: 'EulerDiscreteScheduler', options: karras },
  'Euler a': { className: 'EulerAncestralDiscreteScheduler', options: {} },
  Heun: { className: 'HeunDiscreteScheduler', options: {} },
  'Heun Karras': { className: 'HeunDiscreteScheduler', options: karras },
  LMS: { className: 'LMSDiscreteScheduler', options: {} },
  'LMS Karras': { className: 'LMSDiscreteScheduler', options: karras },
  DDIM: { className: 'DDIMScheduler', options: {} },
  DDPM: { className: 'DDPMScheduler', options: {} },
  PLMS: { className: 'PNDMScheduler', options: { skip_prk_steps: true } },
  PNDM: { className: 'PNDMScheduler', options: {} },
  UniPC: { className: 'UniPCMultistepScheduler', options: {} },
  DEIS: { className: 'DEISMultistepScheduler', options: {} },
  LCM: { className: 'LCMScheduler', options: {} },
  euler: { className: 'EulerDiscreteScheduler', options: {} },
  euler_karras: { className: 'EulerDiscreteScheduler', options: karras },
  euler_a: { className: 'EulerAncestralDiscreteScheduler', options: {} },
  euler_ancestral: { className: 'EulerAncestralDiscreteScheduler', options: {} },
  heun: { className: 'HeunDiscreteScheduler', options: {} },
  lms: { className: 'LMSDiscreteScheduler', options: {} },
  lms_karras: { className: 'LMSDiscreteScheduler', options: karras },
  dpm2: { className: 'KDPM2DiscreteScheduler', options: {} },
  dpm_2: { className: 'KDPM2DiscreteScheduler', options: {} },
  dpm2_karras: { className: 'KDPM2DiscreteScheduler', options: karras },
  dpm2_a: { className: 'KDPM2AncestralDiscreteScheduler', options: {} },
  dpm_2_ancestral: { className: 'KDPM2AncestralDiscreteScheduler', options: {} },
  dpm2_a_karras: { className: 'KDPM2AncestralDiscreteScheduler', options: karras },
  dpmpp_2m: { className: 'DPMSolverMultistepScheduler', options: {} },
  dpmpp_2m_karras: { className: 'DPMSolverMultistepScheduler', options: karras },
  dpmpp_2m_sde: { className: 'DPMSolverMultistepScheduler', options: sde },
  dpmpp_2m_sde_karras: { className: 'DPMSolverMultistepScheduler', options: { ...sde, ...karras } },
  dpmpp_3m: { className: 'DPMSolverMultistepScheduler', options: { solver_order: 3 } },
  dpmpp_2s: { className: 'DPMSolverSinglestepScheduler', options: {} },
  ddim: { className: 'DDIMScheduler', options: {} },
  ddpm: { className: 'DDPMScheduler', options: {} },
  pndm: { className: 'PNDMScheduler', options: {} },
  plms: { className: 'PNDMScheduler', options: { skip_prk_steps: true } },
  uni_pc: { className: 'UniPCMultistepScheduler', options: {} },
  unipc: { className: 'UniPCMultistepScheduler', options: {} },
  deis: { className: 'DEISMultistepScheduler', options: {} },
  lcm: { className: 'LCMScheduler', options: {} },
});

const aliasesByLowerCase = new Map(Object.entries(SCHEDULER_ALIASES).map(([name, alias]) => [name.toLowerCase(), alias]));

function unknownClass(className: unknown, where: string): InvalidArgumentError {
  return new InvalidArgumentError({
    name: where,
    expected: `one of ${Object.keys(SCHEDULER_CLASSES).join(', ')}`,
    actual: className,
    hint: 'pick an implemented scheduler, e.g. by name with schedulerFromName()',
  });
}

/**
 * Builds the scheduler a diffusers config names in `_class_name` (a parsed `scheduler_config.json`).
 * `overrides` replace config keys (snake_case).
 *
 * @example
 * ```ts
 * const config = JSON.parse(fs.readFileSync('model/scheduler/scheduler_config.json', 'utf8'));
 * const scheduler = schedulerFromConfig(config); // PNDMScheduler for SD 1.5
 * const karras = schedulerFromConfig({ ...config, _class_name: 'DPMSolverMultistepScheduler' }, { use_karras_sigmas: true });
 * ```
 */
export function schedulerFromConfig(
  config: Readonly<Record<string, unknown>>,
  overrides: Readonly<Record<string, unknown>> = {},
  options?: SchedulerOptions,
): Scheduler {
  if (typeof config !== 'object' || config === null) {
    throw new InvalidArgumentError({ name: 'config', expected: 'a diffusers scheduler config object', actual: config });
  }
  const className = config._class_name;
  const entry = typeof className === 'string' ? SCHEDULER_CLASSES[className] : undefined;
  if (!entry) throw unknownClass(className, 'config._class_name');
  return new entry.create({ ...config, ...overrides }, { onUnknownKey: warnUnlessAnySchedulerKnows(className as string), ...options });
}

const warnedKeys = new Set<string>();

/**
 * Real `scheduler_config.json` files carry keys of the class they were saved from (SD 1.5's PNDM
 * config has DDIM's `clip_sample`); diffusers only logs those at info level. Warn only about keys
 * that no implemented scheduler knows: those are typos or settings latentkit does not have.
 */
function warnUnlessAnySchedulerKnows(className: string): (key: string) => void {
  return (key) => {
    if (Object.values(SCHEDULER_CLASSES).some(({ defaults }) => key in defaults) || warnedKeys.has(`${className}:${key}`)) return;
    warnedKeys.add(`${className}:${key}`);
    process.emitWarning(`${className}: ignoring unknown config key '${key}'`, 'LatentkitConfigWarning');
  };
}

/** The alias (or class name) a name stands for, or undefined. */
export function resolveSchedulerName(name: string): SchedulerAlias | undefined {
  if (name in SCHEDULER_CLASSES) return { className: name, options: {} };
  return SCHEDULER_ALIASES[name] ?? aliasesByLowerCase.get(name.toLowerCase());
}

/**
 * Builds a scheduler by a sampler name ("DPM++ 2M Karras", `euler_a`, or a diffusers class name),
 * keeping the model's training settings from `base` (its scheduler config or scheduler) as
 * diffusers' `from_config` does: every key the new class knows is carried over, except those
 * the base config left at its own class default (`_use_default_values`).
 *
 * @example
 * ```ts
 * const scheduler = schedulerFromName('DPM++ 2M Karras', pipeline.scheduler);
 * scheduler.setTimesteps(25);
 * ```
 */
export function schedulerFromName(
  name: string,
  base: Readonly<Record<string, unknown>> | Scheduler = {},
  overrides: Readonly<Record<string, unknown>> = {},
  options?: SchedulerOptions,
): Scheduler {
  const alias = typeof name === 'string' ? resolveSchedulerName(name) : undefined;
  if (!alias) {
    throw new InvalidArgumentError({
      name: 'name',
      expected: `a sampler name (${Object.keys(SCHEDULER_ALIASES).slice(0, 12).join(', ')}, …) or a diffusers class name`,
      actual: name,
      hint: 'see SCHEDULER_ALIASES for every name',
    });
  }
  const entry = SCHEDULER_CLASSES[alias.className]!;
  const baseConfig = (isScheduler(base) ? base.config : base) as Readonly<Record<string, unknown>>;
  const usedDefaults = new Set(Array.isArray(baseConfig._use_default_values) ? (baseConfig._use_default_values as string[]) : []);
  const carried: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(baseConfig)) {
    if (!key.startsWith('_') && !usedDefaults.has(key) && key in entry.defaults) carried[key] = value;
  }
  return new entry.create({ ...carried, ...alias.options, ...overrides }, options);
}

function isScheduler(value: unknown): value is Scheduler {
  return typeof value === 'object' && value !== null && 'step' in value && 'config' in value && typeof (value as Scheduler).step === 'function';
}
