import {
  AbortError,
  ComponentMismatchError,
  IncompatibleComponentsError,
  InvalidArgumentError,
  LatentkitError,
  ModelLoadError,
  throwIfAborted,
} from './errors';

describe('error hierarchy', () => {
  it('marks every error so isInstance works across copies of core', () => {
    const error = new InvalidArgumentError({ name: 'width', expected: 'a multiple of 8', actual: 30 });
    expect(LatentkitError.isInstance(error)).toBe(true);
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    expect(ModelLoadError.isInstance(error)).toBe(false);
    // A structurally identical error from another install carries the same global symbol.
    const foreign = Object.assign(new Error('x'), { [Symbol.for('latentkit.error')]: true, code: 'model-load' });
    expect(ModelLoadError.isInstance(foreign)).toBe(true);
    expect(LatentkitError.isInstance(new Error('plain'))).toBe(false);
  });

  it('names the value received, the value expected and the fix', () => {
    const error = new InvalidArgumentError({ name: 'strength', expected: 'a number in (0, 1]', actual: 1.5, hint: 'use 0.75 for a light edit' });
    expect(error.message).toBe('strength must be a number in (0, 1], got 1.5: use 0.75 for a light edit');
    expect(error.name).toBe('InvalidArgumentError');
    expect(error.argument).toBe('strength');

    const mismatch = new ComponentMismatchError({ component: 'UNet', field: 'inChannels', expected: 4, actual: 9, hint: 'use inpaint()' });
    expect(mismatch.message).toBe('UNet: inChannels is 9 but 4 is expected: use inpaint()');

    const load = new ModelLoadError({ path: '/m/unet/config.json', reason: 'the file does not exist' });
    expect(load.message).toBe('Cannot load /m/unet/config.json: the file does not exist');
  });

  it('lists every problem in one error', () => {
    const a = new ComponentMismatchError({ component: 'A', field: 'x', expected: 1, actual: 2, hint: 'fix a' });
    const b = new ComponentMismatchError({ component: 'B', field: 'y', expected: 3, actual: 4, hint: 'fix b' });
    const error = new IncompatibleComponentsError([a, b]);
    expect(error.problems).toHaveLength(2);
    expect(error.message).toContain('(2 problems)');
    expect(error.message).toContain('1. A: x is 2 but 1 is expected: fix a');
    expect(error.message).toContain('2. B: y is 4 but 3 is expected: fix b');
  });

  it('throwIfAborted throws an AbortError only once the signal fired', () => {
    const controller = new AbortController();
    expect(() => throwIfAborted(controller.signal)).not.toThrow();
    expect(() => throwIfAborted(undefined)).not.toThrow();
    controller.abort();
    let caught: unknown;
    try {
      throwIfAborted(controller.signal);
    } catch (error) {
      caught = error;
    }
    expect(AbortError.isInstance(caught)).toBe(true);
  });
});
