/**
 * The text-encoder conformance suite: what every {@link TextEncoder} must do for the pipeline
 * to use it (the contract in `@latentkit/core`'s `text-encoder.ts`), runnable by a third party.
 */
import assert from 'node:assert/strict';
import { AbortError, InvalidArgumentError, formatDims, type TextEncoder, type TextEncoderOutput } from '@latentkit/core';
import { assertClose, assertFiniteFloat32, assertEqual } from './tensor-assertions';
import { captureError, describeError, resolveTestRunner, type TestRunner } from './test-runner';

/** Options of {@link describeTextEncoderConformance}. */
export interface TextEncoderConformanceOptions {
  /** Checked against the encoder's declared `hiddenSize`, when given. */
  hiddenSize?: number;
  /** Checked against the encoder's declared `maxLength`, when given. */
  maxLength?: number;
  /**
   * `'padded'` (default): every output has `maxLength` tokens, as CLIP pads to 77.
   * `'variable'`: outputs may be shorter, at most `maxLength`.
   */
  sequenceLength?: 'padded' | 'variable';
  /** Largest |difference| allowed between a prompt encoded alone and in a batch (default 1e-5). */
  batchTolerance?: number;
  /** Per-test timeout in milliseconds, for encoders that load big models (default: the runner's). */
  timeout?: number;
  /** The runner to register with (default: jest/vitest globals). */
  runner?: TestRunner;
}

type Factory = () => TextEncoder | Promise<TextEncoder>;

function rows(output: TextEncoderOutput, index: number): Float32Array {
  const [, sequence = 0, width = 0] = output.hiddenStates.dims;
  const size = sequence * width;
  return output.hiddenStates.data.subarray(index * size, (index + 1) * size);
}

/**
 * Registers the conformance tests of a text encoder. `factory` is called once for the shared
 * instance (disposed after the suite) and once more for the dispose test.
 *
 * @example
 * ```ts
 * import { describeTextEncoderConformance } from '@latentkit/testing';
 * import { createHashingTextEncoder } from '../src';
 *
 * describeTextEncoderConformance('hashing encoder', () => createHashingTextEncoder({ hiddenSize: 64, maxLength: 16 }));
 * ```
 */
export function describeTextEncoderConformance(name: string, factory: Factory, options: TextEncoderConformanceOptions = {}): void {
  const runner = resolveTestRunner(options.runner);
  const batchTolerance = options.batchTolerance ?? 1e-5;
  const timeout = options.timeout;
  let shared: Promise<TextEncoder> | undefined;
  const encoder = () => (shared ??= Promise.resolve().then(factory));
  const it = (title: string, body: () => unknown) => runner.it(title, body, timeout);

  runner.describe(`text encoder conformance: ${name}`, () => {
    runner.afterAll?.(async () => {
      if (shared) await (await shared).dispose?.();
    });

    it('declares specificationVersion v1, a name, and positive integer hiddenSize and maxLength', async () => {
      const e = await encoder();
      assertEqual(e.specificationVersion, 'v1', `specificationVersion must be 'v1', got ${String(e.specificationVersion)}`);
      assert.ok(typeof e.name === 'string' && e.name.length > 0, `name must be a non-empty string, got ${String(e.name)}`);
      for (const field of ['hiddenSize', 'maxLength'] as const) {
        assert.ok(Number.isInteger(e[field]) && e[field] > 0, `${field} must be a positive integer, got ${String(e[field])}`);
      }
      if (e.pooledSize !== undefined) {
        assert.ok(Number.isInteger(e.pooledSize) && e.pooledSize > 0, `pooledSize must be a positive integer when present, got ${e.pooledSize}`);
      }
      if (options.hiddenSize !== undefined) assertEqual(e.hiddenSize, options.hiddenSize, `hiddenSize must be ${options.hiddenSize}, got ${e.hiddenSize}`);
      if (options.maxLength !== undefined) assertEqual(e.maxLength, options.maxLength, `maxLength must be ${options.maxLength}, got ${e.maxLength}`);
      assertEqual(typeof e.encode, 'function', 'encode must be a function');
    });

    it("encodes ['a', 'b c'] to finite float32 hiddenStates [2, sequence, hiddenSize]", async () => {
      const e = await encoder();
      const output = await e.encode(['a', 'b c']);
      const sequence = options.sequenceLength === 'variable' ? null : e.maxLength;
      assertFiniteFloat32('hiddenStates', output.hiddenStates, [2, sequence, e.hiddenSize]);
      const length = output.hiddenStates.dims[1]!;
      assert.ok(length >= 1 && length <= e.maxLength, `the sequence length must be in 1..maxLength (${e.maxLength}), got ${length}`);
      if (output.pooled !== undefined) assertFiniteFloat32('pooled', output.pooled, [2, e.pooledSize ?? null]);
    });

    it('is deterministic: the same prompts twice give identical outputs', async () => {
      const e = await encoder();
      const prompts = ['a red circle on a blue background', ''];
      const first = await e.encode(prompts);
      const second = await e.encode(prompts);
      // Tolerance 0: an encoder is a pure function of its input.
      assertClose('hiddenStates of the second call', second.hiddenStates.data, first.hiddenStates.data, 0);
    });

    it(`is batch independent: a prompt alone equals its row in a batch (tolerance ${batchTolerance})`, async () => {
      const e = await encoder();
      const prompts = ['a red circle', 'a much longer prompt: a small green triangle on a white background'];
      const batch = await e.encode(prompts);
      for (const [index, prompt] of prompts.entries()) {
        const alone = await e.encode([prompt]);
        assertEqual(formatDims(alone.hiddenStates.dims.slice(1)), formatDims(batch.hiddenStates.dims.slice(1)), `a batch of one must have the batch's per-prompt shape`);
        assertClose(`row ${index} ('${prompt}') of the batch vs the prompt alone`, rows(batch, index), rows(alone, 0), batchTolerance);
      }
    });

    it("encodes the empty prompt (classifier-free guidance's unconditional input)", async () => {
      const e = await encoder();
      const output = await e.encode(['']);
      assertFiniteFloat32('hiddenStates', output.hiddenStates, [1, options.sequenceLength === 'variable' ? null : e.maxLength, e.hiddenSize]);
    });

    it('rejects prompts that are not an array of strings with InvalidArgumentError', async () => {
      const e = await encoder();
      const bad: unknown[] = ['a red circle', 42, undefined, null, [42], ['ok', null], [{ text: 'a' }]];
      for (const prompts of bad) {
        const error = await captureError(() => e.encode(prompts as never));
        assert.ok(
          InvalidArgumentError.isInstance(error),
          `encode(${JSON.stringify(prompts) ?? 'undefined'}) must throw InvalidArgumentError, got ${describeError(error)}`,
        );
      }
    });

    it('throws AbortError when the signal is already aborted', async () => {
      const e = await encoder();
      const controller = new AbortController();
      controller.abort();
      const error = await captureError(() => e.encode(['a red circle'], { signal: controller.signal }));
      assert.ok(AbortError.isInstance(error), `encode() with an aborted signal must throw AbortError, got ${describeError(error)}`);
    });

    it('dispose(), when present, resolves and is safe to call twice', async () => {
      const fresh = await factory();
      if (typeof fresh.dispose !== 'function') return;
      await fresh.dispose();
      const error = await captureError(() => fresh.dispose!());
      assertEqual(error, undefined, `a second dispose() must not throw, got ${describeError(error)}`);
    });
  });
}
