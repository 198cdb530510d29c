/** `latentkit schedulers`: every scheduler name `--scheduler` takes, class names and aliases. */
import { parseArguments, type OptionSpecs } from './argument-parser';
import type { CliIo } from './cli-io';
import { ExitCode, type ExitCodeValue } from './exit-codes';
import { UsageError } from './usage-error';

/**
 * The options of `schedulers`.
 *
 * @example
 * ```ts
 * parseArguments(['--json'], SCHEDULERS_OPTIONS, 'schedulers');
 * ```
 */
export const SCHEDULERS_OPTIONS: OptionSpecs = {
  json: { type: 'boolean', description: 'print { className: [aliases…] } as JSON' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

interface SchedulerTables {
  SCHEDULER_CLASSES: Readonly<Record<string, unknown>>;
  SCHEDULER_ALIASES: Readonly<Record<string, { className: string; options: Readonly<Record<string, unknown>> }>>;
}

/** Aliases by class, grouped by the options they set. */
function aliasGroups(tables: SchedulerTables): Map<string, Map<string, string[]>> {
  const byClass = new Map<string, Map<string, string[]>>(Object.keys(tables.SCHEDULER_CLASSES).map((name) => [name, new Map()]));
  for (const [alias, { className, options }] of Object.entries(tables.SCHEDULER_ALIASES)) {
    const key = Object.entries(options).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(', ');
    const groups = byClass.get(className)!;
    groups.set(key, [...(groups.get(key) ?? []), alias]);
  }
  return byClass;
}

/**
 * Runs `schedulers`: one block per class, its aliases grouped by the options they set.
 *
 * @example
 * ```ts
 * await schedulersCommand([], { stdout: process.stdout, stderr: process.stderr });
 * ```
 */
export async function schedulersCommand(argv: readonly string[], io: CliIo): Promise<ExitCodeValue> {
  const { values, positionals } = parseArguments(argv, SCHEDULERS_OPTIONS, 'schedulers');
  if (positionals.length > 0) throw new UsageError(`schedulers takes no arguments, got ${positionals.map((p) => `'${p}'`).join(' ')}`, 'schedulers');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const tables = require('@latentkit/pipeline') as SchedulerTables;
  const groups = aliasGroups(tables);
  if (values.json) {
    const json = Object.fromEntries([...groups].map(([className, byOptions]) => [className, [...byOptions.values()].flat()]));
    io.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
    return ExitCode.ok;
  }
  const lines = ["--scheduler takes a class name or any alias below (case is ignored); an alias's options are added to the model's scheduler config.", ''];
  for (const [className, byOptions] of groups) {
    lines.push(className);
    for (const [options, aliases] of byOptions) lines.push(`    ${aliases.join(', ')}${options ? `   (${options})` : ''}`);
  }
  io.stdout.write(`${lines.join('\n')}\n`);
  return await Promise.resolve(ExitCode.ok);
}
