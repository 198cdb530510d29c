/** A test runner that records the tests a suite registers, so a test can run them and see which fail. */
import type { TestBody, TestRunner } from '../test-runner';

export interface CollectedTest {
  readonly name: string;
  readonly body: TestBody;
}

export function collectingRunner(): TestRunner & { tests: CollectedTest[]; afterAlls: TestBody[]; run(): Promise<Map<string, unknown>> } {
  const tests: CollectedTest[] = [];
  const afterAlls: TestBody[] = [];
  const prefix: string[] = [];
  return {
    tests,
    afterAlls,
    describe(name, body) {
      prefix.push(name);
      body();
      prefix.pop();
    },
    it(name, body) {
      tests.push({ name: [...prefix, name].join(' > '), body });
    },
    afterAll(body) {
      afterAlls.push(body);
    },
    /** Runs every test; maps each failing test's name to its error. */
    async run() {
      const failures = new Map<string, unknown>();
      for (const test of tests) {
        try {
          await test.body();
        } catch (error) {
          failures.set(test.name, error);
        }
      }
      for (const body of afterAlls) await body();
      return failures;
    },
  };
}

/** The failure whose test name contains `fragment`. */
export function failureOf(failures: Map<string, unknown>, fragment: string): Error | undefined {
  for (const [name, error] of failures) if (name.includes(fragment)) return error as Error;
  return undefined;
}
