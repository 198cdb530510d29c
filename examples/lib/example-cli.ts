/**
 * The command line every example shares: `--model <folder>` (default: the embedded
 * `@latentkit/model-tiny`), `--out-dir <folder>` (default `examples/out/`) and a few numeric
 * settings, parsed strictly so that a typo is an error that lists the flags, not a silent default.
 */
import * as path from 'node:path';
import { InvalidArgumentError } from '@latentkit/core';

/** Where an example prints its findings (`process.stdout`, or a collector in tests). */
export interface ExampleIo {
  readonly stdout: { write(text: string): unknown };
}

/** An example's entry point: parses `argv` (without `node script`), runs, prints to `io.stdout`. */
export type ExampleMain = (argv: readonly string[], io?: ExampleIo) => Promise<void>;

/** The type of each flag an example accepts besides `--model` and `--out-dir`. */
export type FlagSpec = Readonly<Record<string, { readonly type: 'number' | 'string'; readonly default: number | string; readonly help: string }>>;

/** Parsed flags: `model`, `outDir` and each declared flag by its camelCase name. */
export interface ParsedFlags {
  readonly model: string;
  readonly outDir: string;
  readonly values: Readonly<Record<string, number | string>>;
}

/** The folder examples write to when `--out-dir` is not given: `examples/out/` (git-ignored). */
export const DEFAULT_OUT_DIR = path.resolve(__dirname, '..', 'out');

/**
 * The embedded model's folder, resolved when needed so that `--model` works without it.
 *
 * @example
 * ```ts
 * defaultModelFolder(); // …/packages/model-tiny/model
 * ```
 */
export function defaultModelFolder(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('@latentkit/model-tiny') as { modelPath: string }).modelPath;
}

const camel = (flag: string) => flag.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());

/**
 * Parses `--flag value` and `--flag=value` arguments against `spec`.
 *
 * @example
 * ```ts
 * const flags = parseFlags(['--steps', '10'], { steps: { type: 'number', default: 20, help: 'denoising steps' } });
 * flags.values.steps; // 10
 * ```
 */
export function parseFlags(argv: readonly string[], spec: FlagSpec = {}): ParsedFlags {
  const known: FlagSpec = {
    model: { type: 'string', default: '', help: 'model folder (default: the embedded @latentkit/model-tiny)' },
    'out-dir': { type: 'string', default: DEFAULT_OUT_DIR, help: 'where images are written' },
    ...spec,
  };
  const values: Record<string, number | string> = {};
  for (let i = 0; i < argv.length; i++) {
    const argument = argv[i]!;
    if (argument === '--') continue; // `npm run x -- --flag` passes the separator through
    const match = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/.exec(argument);
    const flag = match?.[1];
    if (!match || flag === undefined || !(flag in known)) {
      throw new InvalidArgumentError({
        name: 'argument',
        expected: Object.entries(known).map(([name, { help }]) => `--${name} (${help})`).join(', '),
        actual: argument,
      });
    }
    const raw = match[2] ?? argv[++i];
    if (raw === undefined) throw new InvalidArgumentError({ name: `--${flag}`, expected: 'a value after the flag', actual: undefined });
    if (known[flag]!.type === 'number') {
      const value = Number(raw);
      if (!Number.isFinite(value)) throw new InvalidArgumentError({ name: `--${flag}`, expected: 'a number', actual: raw });
      values[camel(flag)] = value;
    } else {
      values[camel(flag)] = raw;
    }
  }
  for (const [flag, { default: fallback }] of Object.entries(spec)) values[camel(flag)] ??= fallback;
  const model = typeof values.model === 'string' && values.model.length > 0 ? path.resolve(values.model) : defaultModelFolder();
  const outDir = path.resolve(typeof values.outDir === 'string' ? values.outDir : DEFAULT_OUT_DIR);
  return { model, outDir, values };
}

/**
 * The flags of the examples that generate: steps, guidance and seed, with the defaults they share
 * (an example changes one by naming it again after the spread).
 *
 * @example
 * ```ts
 * const FLAGS = { prompt: { type: 'string', default: 'a red circle', help: 'the prompt' }, ...GENERATION_FLAGS } as const;
 * ```
 */
export const GENERATION_FLAGS = {
  steps: { type: 'number', default: 20, help: 'denoising steps' },
  guidance: { type: 'number', default: 7.5, help: 'classifier-free guidance scale' },
  seed: { type: 'number', default: 0, help: 'seed' },
} as const satisfies FlagSpec;

/**
 * The pipeline options that the {@link GENERATION_FLAGS} set.
 *
 * @example
 * ```ts
 * await pipeline.textToImage({ prompt, ...generationSettings(values) });
 * ```
 */
export function generationSettings(values: ParsedFlags['values']): { numInferenceSteps: number; guidanceScale: number; seed: number } {
  return { numInferenceSteps: Number(values.steps), guidanceScale: Number(values.guidance), seed: Number(values.seed) };
}

/**
 * Runs an example's `main` when its file is the script node started, and sets the exit code on
 * failure with the error's message (latentkit errors say what to fix).
 *
 * @example
 * ```ts
 * runIfScript(module, main);
 * ```
 */
export function runIfScript(scriptModule: NodeJS.Module, main: ExampleMain): void {
  if (require.main !== scriptModule) return;
  // Piped into `head`: stop quietly when the reader goes away.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  main(process.argv.slice(2), { stdout: process.stdout }).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`);
    process.exitCode = 1;
  });
}

/**
 * A line printer over an {@link ExampleIo}.
 *
 * @example
 * ```ts
 * const print = printer(io);
 * print('PSNR', 31.2);
 * ```
 */
export function printer(io: ExampleIo): (...parts: unknown[]) => void {
  return (...parts) => void io.stdout.write(`${parts.map(String).join(' ')}\n`);
}

/**
 * Formats rows as an aligned text table (first row: the header).
 *
 * @example
 * ```ts
 * formatTable([['part', 'parameters'], ['unet', '1,234']]);
 * ```
 */
export function formatTable(rows: readonly (readonly string[])[], alignRight: readonly number[] = []): string {
  // Display width: code points, without combining marks (the hat of ε̂ takes no column), with
  // East Asian wide characters (CJK) taking two columns as terminals draw them.
  const width = (cell: string) => [...cell.replace(/\p{M}/gu, '')].reduce((n, char) => n + (WIDE.test(char) ? 2 : 1), 0);
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => width(row[column] ?? ''))));
  const line = (row: readonly string[]) =>
    row
      .map((cell, column) => {
        const pad = ' '.repeat(widths[column]! - width(cell));
        return alignRight.includes(column) ? pad + cell : cell + pad;
      })
      .join('  ')
      .trimEnd();
  const [header, ...body] = rows;
  return [line(header!), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

const WIDE = /[\u1100-\u115F\u2E80-\uA4CF\uAC00-\uD7A3\uF900-\uFAFF\uFE30-\uFE4F\uFF00-\uFF60\uFFE0-\uFFE6]/u;

/**
 * A path as printed: relative to the working directory when inside it, else absolute.
 *
 * @example
 * ```ts
 * displayPath('/repo/examples/out/a.png'); // 'out/a.png' when run from /repo/examples
 * ```
 */
export function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !path.isAbsolute(relative) && !relative.startsWith('..' + path.sep + '..' + path.sep + '..') ? relative : file;
}

/** The default process-wide stdout io. */
export const processIo: ExampleIo = { stdout: process.stdout };
