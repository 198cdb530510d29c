import { AbortError, InvalidArgumentError, ModelLoadError, NonFiniteValueError } from '@latentkit/core';
import { ExitCode, exitCodeFor } from './exit-codes';
import { OutputWriteError } from './image-output';
import { UsageError } from './usage-error';

describe('exit codes', () => {
  it('gives 2 only for usage errors, 3 for the model, 130 for Ctrl-C, 1 for every failure at run time', () => {
    expect(exitCodeFor(new UsageError('x'))).toBe(ExitCode.usage);
    expect(exitCodeFor(new InvalidArgumentError({ name: 'width', expected: 'a multiple of 8', actual: 33 }))).toBe(ExitCode.usage);
    expect(exitCodeFor(new ModelLoadError({ path: 'x', reason: 'missing' }))).toBe(ExitCode.model);
    expect(exitCodeFor(new AbortError())).toBe(ExitCode.interrupted);
    expect(exitCodeFor(new NonFiniteValueError({ source: 'model output', index: 0, value: NaN, hint: 'fp16 overflow?' }))).toBe(ExitCode.failure);
    expect(exitCodeFor(new OutputWriteError('cannot write x.png: no space left on the device (ENOSPC)'))).toBe(ExitCode.failure);
    expect(exitCodeFor(new Error('onnxruntime: Concat: mismatched dimensions'))).toBe(ExitCode.failure);
  });
});
