/** `latentkit inspect <model-folder>`: components, declared dimensions, and whether they fit. */
import { parseArguments, type OptionSpecs } from './argument-parser';
import type { CliIo } from './cli-io';
import { ExitCode, type ExitCodeValue } from './exit-codes';
import { formatModelDescription } from './format-model-description';
import { describeModelFolder } from './model-description';
import { UsageError } from './usage-error';

/**
 * The options of `inspect`.
 *
 * @example
 * ```ts
 * parseArguments(['model', '--json'], INSPECT_OPTIONS, 'inspect'); // { values: { json: true }, positionals: ['model'] }
 * ```
 */
export const INSPECT_OPTIONS: OptionSpecs = {
  json: { type: 'boolean', description: 'print the report as JSON (for scripts)' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

/**
 * Runs `inspect`. Exit code 0 when the parts fit, 3 when they do not or the folder cannot be read.
 *
 * @example
 * ```ts
 * const code = await inspectCommand(['../shared/reference/tiny-sd/onnx', '--json'], { stdout: process.stdout, stderr: process.stderr });
 * ```
 */
export async function inspectCommand(argv: readonly string[], io: CliIo): Promise<ExitCodeValue> {
  const { values, positionals } = parseArguments(argv, INSPECT_OPTIONS, 'inspect');
  if (values.help) return ExitCode.ok;
  if (positionals.length === 0) throw new UsageError('missing the model folder: latentkit inspect <model-folder>', 'inspect');
  if (positionals.length > 1) {
    throw new UsageError(`inspect takes one model folder, got ${positionals.length}: ${positionals.map((p) => `'${p}'`).join(' ')}`, 'inspect');
  }
  const description = await describeModelFolder(positionals[0]!);
  io.stdout.write(values.json ? `${JSON.stringify(description, null, 2)}\n` : formatModelDescription(description));
  return description.compatible ? ExitCode.ok : ExitCode.model;
}
