/**
 * Exit codes a shell user expects: 0 success, 1 a failure at run time, 2 a usage mistake (as
 * getopt tools and bash builtins), 3 a model that cannot be loaded or whose parts do not fit,
 * 130 = 128 + SIGINT after Ctrl-C.
 */
import {
  AbortError,
  ComponentMismatchError,
  IncompatibleComponentsError,
  InvalidArgumentError,
  ModelLoadError,
  PluginResolutionError,
} from '@latentkit/core';
import { UsageError } from './usage-error';

/**
 * The CLI's exit codes.
 *
 * @example
 * ```ts
 * process.exitCode = ExitCode.usage; // 2
 * ```
 */
export const ExitCode = Object.freeze({
  ok: 0,
  failure: 1,
  usage: 2,
  model: 3,
  interrupted: 130,
} as const);

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * The exit code for an error thrown by a command.
 *
 * @example
 * ```ts
 * exitCodeFor(new ModelLoadError({ path: 'x', reason: 'missing' })); // 3
 * ```
 */
export function exitCodeFor(error: unknown): ExitCodeValue {
  if (UsageError.isInstance(error) || InvalidArgumentError.isInstance(error)) return ExitCode.usage;
  if (
    ModelLoadError.isInstance(error) ||
    ComponentMismatchError.isInstance(error) ||
    IncompatibleComponentsError.isInstance(error) ||
    PluginResolutionError.isInstance(error)
  ) {
    return ExitCode.model;
  }
  if (AbortError.isInstance(error)) return ExitCode.interrupted;
  // Everything else happened at run time (a NaN, a full disk, an onnxruntime failure): 1.
  return ExitCode.failure;
}
