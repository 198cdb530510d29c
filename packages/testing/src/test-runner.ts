/**
 * The conformance suites only need `describe` and `it` from a test runner, and assert with
 * `node:assert`, so they run under jest or vitest (with globals) and under `node:test`.
 */

/** A test body: sync or async. */
export type TestBody = () => unknown;

/** The few functions of a test runner that the suites use. */
export interface TestRunner {
  describe(name: string, body: () => void): void;
  it(name: string, body: TestBody, timeout?: number): void;
  /** Runs after every test of the enclosing `describe` (jest/vitest `afterAll`, node:test `after`). */
  afterAll?(body: TestBody): void;
}

interface RunnerGlobals {
  describe?: TestRunner['describe'] & { skip?: TestRunner['describe'] };
  it?: TestRunner['it'];
  test?: TestRunner['it'];
  afterAll?: TestRunner['afterAll'];
}

/**
 * The runner to register tests with: the one given, else the globals jest and vitest install.
 *
 * @example
 * ```ts
 * import { describe, it, after } from 'node:test';
 * describeTextEncoderConformance('mine', factory, { runner: { describe, it, afterAll: after } });
 * ```
 */
export function resolveTestRunner(given?: TestRunner): TestRunner {
  if (given) return given;
  const globals = globalThis as RunnerGlobals;
  const it = globals.it ?? globals.test;
  if (typeof globals.describe !== 'function' || typeof it !== 'function') {
    throw new Error(
      'No test runner found: @latentkit/testing suites register tests with the global describe() and it() ' +
        'that jest and vitest (globals: true) provide. Call the suite from a test file, or pass ' +
        "{ runner: { describe, it, afterAll: after } } from 'node:test'.",
    );
  }
  return { describe: globals.describe, it, afterAll: globals.afterAll };
}

/**
 * Skips a described block with a reason printed once, when the runner can skip: the runner shows
 * one skipped test named by the reason. The block's body is not run — jest runs a skipped
 * block's body to collect its tests, and a body that reads the very files that are absent (a
 * reference at the top of a `describe`) would fail the whole file. `body` is accepted so that
 * callers can pass the block they would otherwise have run.
 *
 * @example
 * ```ts
 * describeSkipped('the model is not downloaded', 'SD 1.5 parity', () => { it('matches', () => {}); });
 * ```
 */
export function describeSkipped(reason: string, name: string, _body?: () => void): void {
  const globals = globalThis as RunnerGlobals;
  console.warn(`[latentkit] skipping "${name}": ${reason}`);
  const it = globals.it ?? globals.test;
  const skipTest = (it as { skip?: TestRunner['it'] } | undefined)?.skip;
  if (typeof globals.describe?.skip === 'function' && typeof skipTest === 'function') {
    globals.describe.skip(`${name} (skipped)`, () => skipTest(reason, () => undefined));
  }
}

/**
 * Runs `work` and returns what it threw or rejected with, or undefined when it succeeded.
 *
 * @example
 * ```ts
 * const error = await captureError(() => encoder.encode(42 as never));
 * ```
 */
export async function captureError(work: () => unknown): Promise<unknown> {
  try {
    await work();
    return undefined;
  } catch (error) {
    return error;
  }
}

/**
 * Formats an error for an assertion message.
 *
 * @example
 * ```ts
 * describeError(undefined); // 'nothing (it succeeded)'
 * ```
 */
export function describeError(error: unknown): string {
  if (error === undefined) return 'nothing (it succeeded)';
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
