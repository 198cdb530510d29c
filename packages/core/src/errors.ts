/**
 * One error hierarchy for every latentkit package.
 *
 * Each error carries a stable marker so that `isInstance()` works even when two copies of
 * `@latentkit/core` are installed (a plugin built against another version), where `instanceof`
 * would fail. Messages always name the value received, the value expected and what to do.
 */

const MARKER = Symbol.for('latentkit.error');

function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? value.slice(0, 77) + '...' : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return `[${value.slice(0, 8).map(describeValue).join(', ')}${value.length > 8 ? ', ...' : ''}]`;
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as { length: number }).length})`;
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}

/** Formats any value for an error message: short, typed and unambiguous. */
export { describeValue };

/**
 * The base of every error latentkit throws.
 *
 * @example
 * ```ts
 * try { await pipeline.textToImage({ prompt: 42 as never }); }
 * catch (error) { if (LatentkitError.isInstance(error)) console.error(error.code, error.message); }
 * ```
 */
export class LatentkitError extends Error {
  private readonly [MARKER] = true;
  /** A stable, machine-readable code, e.g. `'component-mismatch'`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }

  /** True for any latentkit error, from any installed copy of `@latentkit/core`. */
  static isInstance(error: unknown): error is LatentkitError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[MARKER] === true;
  }
}

/** A component does not fit the others (a width, a channel count, a prediction type). */
export class ComponentMismatchError extends LatentkitError {
  readonly component: string;
  readonly field: string;
  readonly expected: unknown;
  readonly actual: unknown;
  readonly hint: string;

  constructor(fields: { component: string; field: string; expected: unknown; actual: unknown; hint: string; message?: string }) {
    super(
      'component-mismatch',
      fields.message ??
        `${fields.component}: ${fields.field} is ${describeValue(fields.actual)} but ${describeValue(fields.expected)} is expected: ${fields.hint}`,
    );
    this.component = fields.component;
    this.field = fields.field;
    this.expected = fields.expected;
    this.actual = fields.actual;
    this.hint = fields.hint;
  }

  static override isInstance(error: unknown): error is ComponentMismatchError {
    return LatentkitError.isInstance(error) && error.code === 'component-mismatch';
  }
}

/** Several problems found at once (the compatibility check reports all of them together). */
export class IncompatibleComponentsError extends LatentkitError {
  readonly problems: readonly ComponentMismatchError[];

  constructor(problems: readonly ComponentMismatchError[]) {
    super(
      'incompatible-components',
      `The pipeline's components do not fit together (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p, i) => `  ${i + 1}. ${p.message}`).join('\n'),
    );
    this.problems = problems;
  }

  static override isInstance(error: unknown): error is IncompatibleComponentsError {
    return LatentkitError.isInstance(error) && error.code === 'incompatible-components';
  }
}

/** A model file or folder is missing, unreadable or malformed. */
export class ModelLoadError extends LatentkitError {
  readonly path: string;
  readonly reason: string;

  constructor(fields: { path: string; reason: string; cause?: unknown }) {
    super('model-load', `Cannot load ${fields.path}: ${fields.reason}`, { cause: fields.cause });
    this.path = fields.path;
    this.reason = fields.reason;
  }

  static override isInstance(error: unknown): error is ModelLoadError {
    return LatentkitError.isInstance(error) && error.code === 'model-load';
  }
}

/** An argument has the wrong type, shape or range. Thrown before any compute. */
export class InvalidArgumentError extends LatentkitError {
  readonly argument: string;
  readonly expected: string;
  readonly actual: unknown;

  constructor(fields: { name: string; expected: string; actual: unknown; hint?: string }) {
    super(
      'invalid-argument',
      `${fields.name} must be ${fields.expected}, got ${describeValue(fields.actual)}${fields.hint ? `: ${fields.hint}` : ''}`,
    );
    this.argument = fields.name;
    this.expected = fields.expected;
    this.actual = fields.actual;
  }

  /** The argument's name (`name` is the error class name, as for every `Error`). */
  get argumentName(): string {
    return this.argument;
  }

  static override isInstance(error: unknown): error is InvalidArgumentError {
    return LatentkitError.isInstance(error) && error.code === 'invalid-argument';
  }
}

/** Work was cancelled through an `AbortSignal`. */
export class AbortError extends LatentkitError {
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super('aborted', message, options);
  }

  static override isInstance(error: unknown): error is AbortError {
    return LatentkitError.isInstance(error) && error.code === 'aborted';
  }
}

/** No registered plugin accepted a component; lists every candidate and why it declined. */
export class PluginResolutionError extends LatentkitError {
  readonly slot: string;
  readonly declined: readonly { plugin: string; reason: string }[];

  constructor(fields: { slot: string; entry: unknown; declined: readonly { plugin: string; reason: string }[] }) {
    const lines = fields.declined.length
      ? fields.declined.map((d) => `  - ${d.plugin}: ${d.reason}`).join('\n')
      : '  (no plugin of this kind is registered)';
    super(
      'plugin-resolution',
      `No plugin can load component '${fields.slot}' (${describeValue(fields.entry)}). Candidates:\n${lines}\n` +
        `Register a plugin that supports it (registry.register(plugin)) or pass the component instance directly.`,
    );
    this.slot = fields.slot;
    this.declined = fields.declined;
  }

  static override isInstance(error: unknown): error is PluginResolutionError {
    return LatentkitError.isInstance(error) && error.code === 'plugin-resolution';
  }
}

/** A call came in the wrong order (e.g. `step()` before `setTimesteps()`). */
export class StateError extends LatentkitError {
  constructor(message: string) {
    super('invalid-state', message);
  }

  static override isInstance(error: unknown): error is StateError {
    return LatentkitError.isInstance(error) && error.code === 'invalid-state';
  }
}

/**
 * A computation produced NaN or ±∞. `source` names where it first appeared (the input image, the
 * starting latents, the VAE encoder, the model output, a scheduler step), so that the fix is the
 * right one: a bad input, a bad scheduler config, or a model that overflows (fp16).
 *
 * @example
 * ```ts
 * throw new NonFiniteValueError({ source: 'model output', where: 'step 3 (t=741)', index: 12, value: NaN, hint: 'the UNet overflowed: run it in float32' });
 * ```
 */
export class NonFiniteValueError extends LatentkitError {
  readonly source: string;
  readonly index: number;
  readonly value: number;

  constructor(fields: { source: string; where?: string; index: number; value: number; hint: string }) {
    super('non-finite', `the ${fields.source}${fields.where ? ` at ${fields.where}` : ''} has a non-finite value (${fields.value} at element ${fields.index}): ${fields.hint}`);
    this.source = fields.source;
    this.index = fields.index;
    this.value = fields.value;
  }

  static override isInstance(error: unknown): error is NonFiniteValueError {
    return LatentkitError.isInstance(error) && error.code === 'non-finite';
  }
}

/** Throws an {@link AbortError} when the signal has fired. Call between units of work. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    const reason = signal.reason;
    throw new AbortError(
      reason instanceof Error && reason.name !== 'AbortError' ? `The operation was aborted: ${reason.message}` : 'The operation was aborted',
      { cause: reason },
    );
  }
}
