/**
 * A light UNet conformance suite: the declared fields of the contract, one prediction on a small
 * latent (shape and finiteness) and cancellation. It needs the model, not reference numbers.
 */
import assert from 'node:assert/strict';
import { AbortError, createTensor, type UNet } from '@latentkit/core';
import { SeededGenerator } from './seeded-generator';
import { assertFiniteFloat32, assertEqual } from './tensor-assertions';
import { captureError, describeError, resolveTestRunner, type TestRunner } from './test-runner';

/** Options of {@link describeUNetConformance}. */
export interface UNetConformanceOptions {
  /** Latent side to predict on (default: the declared `sampleSize`, else 8). */
  latentSize?: number;
  /** Tokens of the text states fed (default 77). */
  sequenceLength?: number;
  timeout?: number;
  runner?: TestRunner;
}

/**
 * Registers the conformance tests of a UNet.
 *
 * @example
 * ```ts
 * describeUNetConformance('tiny-sd onnx unet', () => OnnxUNet.load('tiny-sd/onnx/unet'));
 * ```
 */
export function describeUNetConformance(name: string, factory: () => UNet | Promise<UNet>, options: UNetConformanceOptions = {}): void {
  const runner = resolveTestRunner(options.runner);
  let shared: Promise<UNet> | undefined;
  const unet = () => (shared ??= Promise.resolve().then(factory));
  const it = (title: string, body: () => unknown) => runner.it(title, body, options.timeout);

  const inputs = (u: UNet, batch: number) => {
    const side = options.latentSize ?? u.sampleSize ?? 8;
    const sequence = options.sequenceLength ?? 77;
    const generator = new SeededGenerator(3);
    const sampleDims = [batch, u.inChannels, side, side];
    const statesDims = [batch, sequence, u.crossAttentionDim];
    return {
      side,
      sample: createTensor(sampleDims, generator.randn(sampleDims)),
      encoderHiddenStates: createTensor(statesDims, generator.randn(statesDims)),
    };
  };

  runner.describe(`unet conformance: ${name}`, () => {
    runner.afterAll?.(async () => {
      if (shared) await (await shared).dispose?.();
    });

    it('declares specificationVersion v1 and positive integer channels and cross-attention width', async () => {
      const u = await unet();
      assertEqual(u.specificationVersion, 'v1', `specificationVersion must be 'v1', got ${String(u.specificationVersion)}`);
      for (const field of ['inChannels', 'outChannels', 'crossAttentionDim'] as const) {
        assert.ok(Number.isInteger(u[field]) && u[field] > 0, `${field} must be a positive integer, got ${String(u[field])}`);
      }
      if (u.sampleSize !== undefined) assert.ok(Number.isInteger(u.sampleSize) && u.sampleSize > 0, `sampleSize must be a positive integer, got ${u.sampleSize}`);
    });

    it('predicts a finite [2, outChannels, h, w] output for a batch of 2', async () => {
      const u = await unet();
      const { side, sample, encoderHiddenStates } = inputs(u, 2);
      const output = await u.predict({ sample, timestep: 500, encoderHiddenStates });
      assertFiniteFloat32('predict() output', output, [2, u.outChannels, side, side]);
    });

    it('throws AbortError when the signal is already aborted', async () => {
      const u = await unet();
      const controller = new AbortController();
      controller.abort();
      const error = await captureError(() => u.predict({ ...inputs(u, 1), timestep: 500, signal: controller.signal }));
      assert.ok(AbortError.isInstance(error), `predict() with an aborted signal must throw AbortError, got ${describeError(error)}`);
    });
  });
}
