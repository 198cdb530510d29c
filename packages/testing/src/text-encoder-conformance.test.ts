import { createTensor, type TextEncoder } from '@latentkit/core';
import { bagOfWordsEncoder } from './__fixtures__/bag-of-words-encoder';
import { collectingRunner, failureOf } from './__fixtures__/collecting-runner';
import { describeTextEncoderConformance } from './text-encoder-conformance';

// A correct encoder passes the suite, registered with jest's globals as a plugin author would.
describeTextEncoderConformance('bag of words', () => bagOfWordsEncoder(), { hiddenSize: 8, maxLength: 6 });

describe('describeTextEncoderConformance catches broken encoders', () => {
  async function failuresOf(encoder: TextEncoder) {
    const runner = collectingRunner();
    describeTextEncoderConformance('broken', () => encoder, { runner });
    return runner.run();
  }

  it('registers every check, and a correct encoder fails none', async () => {
    const runner = collectingRunner();
    describeTextEncoderConformance('ok', () => bagOfWordsEncoder(), { runner });
    expect(runner.tests.length).toBe(8);
    expect([...(await runner.run()).keys()]).toEqual([]);
  });

  it('reports a wrong width, with the expected and actual values', async () => {
    const runner = collectingRunner();
    describeTextEncoderConformance('wide', () => bagOfWordsEncoder(), { runner, hiddenSize: 16 });
    const failures = await runner.run();
    expect(failureOf(failures, 'declares')?.message).toBe('hiddenSize must be 16, got 8');
  });

  it('reports an encoder that ignores the abort signal', async () => {
    const base = bagOfWordsEncoder();
    const failures = await failuresOf({ ...base, encode: (prompts) => base.encode(prompts) });
    expect([...failures.keys()]).toEqual(['text encoder conformance: broken > throws AbortError when the signal is already aborted']);
    expect(failureOf(failures, 'AbortError')?.message).toMatch(/must throw AbortError, got nothing \(it succeeded\)/);
  });

  it('reports an encoder that accepts a bare string', async () => {
    const base = bagOfWordsEncoder();
    const lenient: TextEncoder = { ...base, encode: (prompts, options) => base.encode(typeof prompts === 'string' ? [prompts] : prompts, options) };
    const failures = await failuresOf(lenient);
    expect(failureOf(failures, 'rejects prompts')?.message).toMatch(/^encode\("a red circle"\) must throw InvalidArgumentError/);
  });

  it('reports an encoder whose rows depend on the rest of the batch', async () => {
    const base = bagOfWordsEncoder();
    const leaky: TextEncoder = {
      ...base,
      async encode(prompts, options) {
        const out = await base.encode(prompts, options);
        const data = out.hiddenStates.data.map((x) => x + prompts.length);
        return { hiddenStates: createTensor(out.hiddenStates.dims, data) };
      },
    };
    const failures = await failuresOf(leaky);
    expect(failureOf(failures, 'batch independent')?.message).toMatch(/row 0 \('a red circle'\) of the batch vs the prompt alone: element 3 is .* \(\|difference\| 1.0000001192092896 > tolerance 0.00001\)/);
  });

  it('reports non-finite outputs and wrong shapes', async () => {
    const base = bagOfWordsEncoder();
    const nan: TextEncoder = {
      ...base,
      async encode(prompts, options) {
        const out = await base.encode(prompts, options);
        out.hiddenStates.data[3] = Number.NaN;
        return out;
      },
    };
    expect(failureOf(await failuresOf(nan), "encodes ['a', 'b c']")?.message).toBe('hiddenStates must be finite, but element 3 of 96 is NaN');
    const short: TextEncoder = {
      ...base,
      encode: async (prompts) => ({ hiddenStates: createTensor([prompts.length, 3, 8], new Float32Array(prompts.length * 24)) }),
    };
    expect(failureOf(await failuresOf(short), "encodes ['a', 'b c']")?.message).toBe('hiddenStates must have shape [2, 6, 8], got [2, 3, 8]');
  });

  it('disposes the shared instance after the suite', async () => {
    const dispose = jest.fn();
    const runner = collectingRunner();
    describeTextEncoderConformance('disposable', () => bagOfWordsEncoder({ dispose }), { runner });
    await runner.run();
    // Once for the dispose test's fresh instance (twice), once for the shared instance.
    expect(dispose).toHaveBeenCalledTimes(3);
  });
});
