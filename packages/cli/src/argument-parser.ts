/**
 * A small, strict parser for the CLI's options: `--name value`, `--name=value`, `-x value`,
 * boolean flags, and `--` to end options. Unknown options, missing values and bad numbers are
 * {@link UsageError}s that name the option, the value received and what is expected.
 */
import { UsageError } from './usage-error';

/** How one option's value is read. */
export type OptionType = 'string' | 'integer' | 'number' | 'boolean';

/** One option of a command. */
export interface OptionSpec {
  readonly type: OptionType;
  /** One-letter alias, without the dash. */
  readonly short?: string;
  /** For `--help`: what the option does. */
  readonly description: string;
  /** For `--help`: the value's placeholder, e.g. `<n>`. */
  readonly valueName?: string;
  /** Inclusive bounds of numeric values. */
  readonly min?: number;
  readonly max?: number;
  /** Bounds that exclude the value itself (`strength` in (0, 1]). */
  readonly exclusiveMin?: boolean;
}

/** A command's options by their long name (camelCase keys map to kebab-case flags). */
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** Parsed values by option key, and the positional arguments in order. */
export interface ParsedArguments {
  readonly values: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly positionals: readonly string[];
}

/**
 * `textEncoder` → `--text-encoder`.
 *
 * @example
 * ```ts
 * flagName('textEncoder'); // '--text-encoder'
 * ```
 */
export function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** Edit distance, to suggest the option a typo meant. */
function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

function describeExpected(spec: OptionSpec): string {
  const kind = spec.type === 'integer' ? 'an integer' : 'a number';
  if (spec.min !== undefined && spec.max !== undefined) {
    return `${kind} in ${spec.exclusiveMin ? '(' : '['}${spec.min}, ${spec.max}]`;
  }
  if (spec.min !== undefined) return `${kind} ${spec.exclusiveMin ? '>' : '≥'} ${spec.min}`;
  return kind;
}

/** Converts and range-checks one value. */
function convert(flag: string, raw: string, spec: OptionSpec, command: string): string | number {
  if (spec.type === 'string') return raw;
  const value = raw.trim() === '' ? Number.NaN : Number(raw);
  const ok =
    Number.isFinite(value) &&
    (spec.type !== 'integer' || Number.isInteger(value)) &&
    (spec.min === undefined || (spec.exclusiveMin ? value > spec.min : value >= spec.min)) &&
    (spec.max === undefined || value <= spec.max);
  if (!ok) throw new UsageError(`${flag} must be ${describeExpected(spec)}, got '${raw}'`, command);
  return value;
}

/**
 * Parses a command's arguments.
 *
 * @example
 * ```ts
 * parseArguments(['a red circle', '--steps', '20'], { steps: { type: 'integer', min: 1, description: 'steps' } }, 'generate');
 * // { values: { steps: 20 }, positionals: ['a red circle'] }
 * ```
 */
export function parseArguments(argv: readonly string[], specs: OptionSpecs, command: string): ParsedArguments {
  const byFlag = new Map<string, [string, OptionSpec]>();
  for (const [key, spec] of Object.entries(specs)) {
    byFlag.set(flagName(key), [key, spec]);
    if (spec.short) byFlag.set(`-${spec.short}`, [key, spec]);
  }
  const values: Record<string, string | number | boolean | undefined> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const argument = argv[i]!;
    if (argument === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    // A lone '-' and negative numbers are values, not options.
    if (!argument.startsWith('-') || argument === '-' || /^-\d/.test(argument)) {
      positionals.push(argument);
      continue;
    }
    const equals = argument.indexOf('=');
    const flag = equals > 0 ? argument.slice(0, equals) : argument;
    const found = byFlag.get(flag);
    if (!found) {
      const known = [...byFlag.keys()].filter((f) => f.startsWith('--'));
      const nearest = known.map((f) => [f, levenshtein(flag, f)] as const).sort((a, b) => a[1] - b[1])[0];
      const suggestion = nearest && nearest[1] <= 3 ? `: did you mean ${nearest[0]}?` : '';
      throw new UsageError(`unknown option '${flag}' for 'latentkit ${command}'${suggestion}`, command);
    }
    const [key, spec] = found;
    if (spec.type === 'boolean') {
      if (equals > 0) throw new UsageError(`${flag} is a switch and takes no value, got '${argument.slice(equals + 1)}'`, command);
      values[key] = true;
      continue;
    }
    let raw: string | undefined;
    if (equals > 0) raw = argument.slice(equals + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) {
        throw new UsageError(`${flag} needs a value (${spec.type === 'string' ? spec.valueName ?? 'a string' : describeExpected(spec)})`, command);
      }
      raw = next;
      i++;
    }
    values[key] = convert(flag, raw, spec, command);
  }
  return { values, positionals };
}

/**
 * The `--help` lines of a command's options, aligned.
 *
 * @example
 * ```ts
 * formatOptions(INSPECT_OPTIONS); // '      --json  print the report as JSON (for scripts)\n  -h, --help  show this help'
 * ```
 */
export function formatOptions(specs: OptionSpecs): string {
  const rows = Object.entries(specs).map(([key, spec]) => {
    const names = `${spec.short ? `-${spec.short}, ` : '    '}${flagName(key)}${spec.type === 'boolean' ? '' : ` ${spec.valueName ?? '<value>'}`}`;
    return [names, spec.description] as const;
  });
  const width = Math.max(...rows.map(([names]) => names.length));
  return rows.map(([names, description]) => `  ${names.padEnd(width)}  ${description}`).join('\n');
}
