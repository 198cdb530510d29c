/**
 * `latentkit`'s entry point as a function: `run(argv, io)` returns the exit code, so that every
 * command can be tested without spawning a process. Errors become one clear line on stderr and
 * the exit code a shell user expects (see {@link ExitCode}).
 */
import { InvalidArgumentError, LatentkitError } from '@latentkit/core';
import type { CliIo } from './cli-io';
import { ExitCode, exitCodeFor, type ExitCodeValue } from './exit-codes';
import { COMMANDS, commandHelp, mainHelp, type CommandName } from './help';
import { inspectCommand } from './inspect-command';
import { UsageError } from './usage-error';

/**
 * The CLI's version: the package's own.
 *
 * @example
 * ```ts
 * cliVersion(); // '0.1.0'
 * ```
 */
export function cliVersion(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('../package.json') as { version: string }).version;
}

function isCommand(name: string): name is CommandName {
  return (COMMANDS as readonly string[]).includes(name);
}

/** The pipeline's argument names and the flags that set them, to point a shell user at the flag. */
const FLAGS_BY_ARGUMENT: Readonly<Record<string, string>> = {
  numInferenceSteps: '--steps',
  guidanceScale: '--guidance',
  negativePrompt: '--negative',
  numImagesPerPrompt: '--count',
  textEncoder: '--text-encoder',
  scheduler: '--scheduler',
  width: '--width',
  height: '--height',
  strength: '--strength',
  seed: '--seed',
  image: '--image',
  mask: '--mask',
};

function errorText(error: unknown): string {
  if (InvalidArgumentError.isInstance(error)) {
    const flag = FLAGS_BY_ARGUMENT[error.argumentName.split(/[.[]/)[0]!];
    return flag ? `${flag}: ${error.message}` : error.message;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}

/**
 * Runs the CLI with the arguments after `latentkit` and returns the exit code.
 *
 * @example
 * ```ts
 * import { run } from '@latentkit/cli';
 * const controller = new AbortController();
 * process.on('SIGINT', () => controller.abort());
 * process.exitCode = await run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, signal: controller.signal });
 * ```
 */
export async function run(argv: readonly string[], io: CliIo): Promise<ExitCodeValue> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    const topic = first === 'help' ? rest[0] : undefined;
    if (topic !== undefined && isCommand(topic)) io.stdout.write(commandHelp(topic));
    else io.stdout.write(mainHelp(cliVersion()));
    return first === undefined ? ExitCode.usage : ExitCode.ok;
  }
  if (first === '--version' || first === '-v') {
    io.stdout.write(`${cliVersion()}\n`);
    return ExitCode.ok;
  }
  if (!isCommand(first)) {
    io.stderr.write(`latentkit: unknown command '${first}'. Commands: ${COMMANDS.join(', ')}. Run 'latentkit --help' for usage.\n`);
    return ExitCode.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(commandHelp(first));
    return ExitCode.ok;
  }
  try {
    if (first === 'inspect') return await inspectCommand(rest, io);
    // Loaded on demand: the generation commands pull in the pipeline and onnxruntime, which
    // `--help`, `--version` and `inspect` must not wait for.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { generationCommand } = require('./generate-command') as typeof import('./generate-command');
    return await generationCommand(first, rest, io);
  } catch (error) {
    const code = exitCodeFor(error);
    if (code === ExitCode.interrupted) {
      io.stderr.write('latentkit: interrupted\n');
    } else if (code === ExitCode.usage) {
      io.stderr.write(`latentkit ${first}: ${errorText(error)}\nRun 'latentkit ${(UsageError.isInstance(error) && error.command) || first} --help' for usage.\n`);
    } else {
      io.stderr.write(`latentkit ${first}: ${errorText(error)}\n`);
      // An unexpected error (not one of latentkit's own) is a bug: show where it came from.
      if (!LatentkitError.isInstance(error) && error instanceof Error && process.env.LATENTKIT_DEBUG) io.stderr.write(`${error.stack}\n`);
    }
    return code;
  }
}
