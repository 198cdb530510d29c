/**
 * The registry plugin that creates `["diffusers", "<Scheduler class>"]` components from their
 * `scheduler_config.json`, and `register()`.
 */
import {
  InvalidArgumentError,
  registry as defaultRegistry,
  type ComponentEntry,
  type Plugin,
  type PluginRegistry,
  type Scheduler,
  type SupportAnswer,
} from '@latentkit/core';
import { SCHEDULER_CLASSES, schedulerFromConfig } from './scheduler-from-config';

/** Options of the scheduler plugin's `create`. */
export interface SchedulerPluginOptions {
  /** Config keys to replace (snake_case), e.g. `{ use_karras_sigmas: true }`. */
  overrides?: Readonly<Record<string, unknown>>;
}

/**
 * Creates any scheduler this package implements from a model folder's `scheduler` slot.
 *
 * @example
 * ```ts
 * import { registry } from '@latentkit/core';
 * import { schedulerPlugin } from '@latentkit/schedulers';
 * registry.register(schedulerPlugin);
 * ```
 */
export const schedulerPlugin: Plugin<Scheduler, SchedulerPluginOptions> = {
  name: 'latentkit-schedulers',
  specificationVersion: 'v1',
  kind: 'scheduler',
  supports(entry: ComponentEntry): SupportAnswer {
    if (entry.library === 'diffusers' && entry.className !== null && entry.className in SCHEDULER_CLASSES) return true;
    return {
      reason: `creates ["diffusers", <${Object.keys(SCHEDULER_CLASSES).join(' | ')}>], not ${JSON.stringify([entry.library, entry.className])}`,
    };
  },
  create(source, options) {
    if (!source.config) {
      throw new InvalidArgumentError({
        name: `${source.componentPath}/scheduler_config.json`,
        expected: 'a scheduler config',
        actual: undefined,
        hint: 'the scheduler folder must hold scheduler_config.json',
      });
    }
    return schedulerFromConfig({ ...source.config, _class_name: source.entry.className }, options?.overrides);
  },
};

/**
 * Registers this package's plugin (idempotent).
 *
 * @example
 * ```ts
 * import { register } from '@latentkit/schedulers';
 * register();
 * ```
 */
export function register(target: PluginRegistry = defaultRegistry): PluginRegistry {
  return target.register(schedulerPlugin);
}
