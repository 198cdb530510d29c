/**
 * Which scheduler a pipeline runs, and a fresh one for every call.
 *
 * `options.scheduler` takes an instance or a name (a diffusers class name such as
 * `'EulerDiscreteScheduler'`, or an alias such as `'euler'`); a name is configured from the
 * model's own `scheduler_config.json`, as diffusers' `Scheduler.from_config(pipe.scheduler.config)`
 * does. Schedulers keep state between steps (PNDM's history, multistep solvers' previous
 * outputs), so every call gets its own copy built from the chosen one's class and config; two
 * calls on one pipeline can then run at once.
 */
import { InvalidArgumentError, type Scheduler } from '@latentkit/core';
import { schedulerFromConfig, schedulerFromName } from '@latentkit/schedulers';

/** A scheduler instance, or a diffusers class name / alias. */
export type SchedulerChoice = Scheduler | string;

/**
 * Resolves `choice` against the model's scheduler config (`undefined` → the model's own scheduler).
 *
 * @example
 * ```ts
 * const scheduler = chooseScheduler('euler', folderSchedulerConfig); // EulerDiscreteScheduler with the model's betas
 * ```
 */
export function chooseScheduler(choice: SchedulerChoice | undefined, modelConfig: Readonly<Record<string, unknown>> | undefined): Scheduler {
  if (choice === undefined) {
    if (!modelConfig) {
      throw new InvalidArgumentError({ name: 'scheduler', expected: 'a scheduler or a scheduler name', actual: undefined, hint: 'the model folder has no scheduler/scheduler_config.json' });
    }
    return schedulerFromConfig(modelConfig);
  }
  if (typeof choice === 'string') return schedulerFromName(choice, modelConfig ?? {});
  if (typeof choice === 'object' && choice !== null && typeof choice.step === 'function' && typeof choice.setTimesteps === 'function') return choice;
  throw new InvalidArgumentError({ name: 'scheduler', expected: "a Scheduler instance or a name such as 'EulerDiscreteScheduler' or 'euler'", actual: choice });
}

/**
 * A fresh scheduler with the same class and configuration: the scheduler's own `clone()` (every
 * `@latentkit/schedulers` class, and any third-party scheduler that implements it), else one
 * built from its config when the class is one `@latentkit/schedulers` knows, else undefined: the
 * caller then runs with the instance itself, one call at a time.
 *
 * @example
 * ```ts
 * const copy = cloneScheduler(pipeline.scheduler) ?? pipeline.scheduler;
 * ```
 */
export function cloneScheduler(template: Scheduler): Scheduler | undefined {
  if (typeof template.clone === 'function') return template.clone();
  try {
    // Keys the template left at their class defaults stay defaults, so the copy's config
    // (its `_use_default_values` included) equals the template's.
    const defaults = new Set(Array.isArray(template.config._use_default_values) ? (template.config._use_default_values as string[]) : []);
    const given = Object.fromEntries(Object.entries(template.config).filter(([key]) => !defaults.has(key) && key !== '_use_default_values'));
    return schedulerFromConfig({ ...given, _class_name: template.className });
  } catch {
    return undefined;
  }
}
