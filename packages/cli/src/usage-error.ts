/**
 * A mistake on the command line: an unknown option, a missing prompt, a value that is not a number.
 *
 * @example
 * ```ts
 * throw new UsageError("--steps must be an integer ≥ 1, got 'ten'", 'generate');
 * ```
 */
export class UsageError extends Error {
  /** The command whose usage to show (`generate`, `inspect`, …), when known. */
  readonly command?: string;

  constructor(message: string, command?: string) {
    super(message);
    this.name = 'UsageError';
    this.command = command;
  }

  /** True for a {@link UsageError}, also across module copies. */
  static isInstance(error: unknown): error is UsageError {
    return error instanceof Error && error.name === 'UsageError';
  }
}
