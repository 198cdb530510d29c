import { InvalidArgumentError } from './errors';
import { resolveSessionOptions, toOrtSessionOptions } from './session-options';

describe('session options', () => {
  it('fills defaults: CPU, all optimisations, onnxruntime\'s thread count', () => {
    expect(resolveSessionOptions({}, {})).toEqual({ threads: undefined, executionProvider: 'cpu', graphOptimizationLevel: 'all', prepackWeights: false });
    expect(toOrtSessionOptions({ threads: 2 })).toMatchObject({ executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: 2, executionMode: 'sequential' });
  });

  it('lists the CPU after CUDA so that operators CUDA lacks still run', () => {
    expect(toOrtSessionOptions({ executionProvider: 'cuda', graphOptimizationLevel: 'basic' })).toMatchObject({ executionProviders: ['cuda', 'cpu'], graphOptimizationLevel: 'basic' });
  });

  it('takes the thread count from LATENTKIT_THREADS unless given', () => {
    expect(resolveSessionOptions({}, { LATENTKIT_THREADS: '3' }).threads).toBe(3);
    expect(resolveSessionOptions({ threads: 1 }, { LATENTKIT_THREADS: '3' }).threads).toBe(1);
    expect(() => resolveSessionOptions({}, { LATENTKIT_THREADS: 'many' })).toThrow(/LATENTKIT_THREADS must be a positive integer, got "many"/);
  });

  it('leaves weight prepacking off unless asked for (onnxruntime\'s session.disable_prepacking)', () => {
    expect(toOrtSessionOptions({}).extra).toEqual({ session: { disable_prepacking: '1' } });
    expect(toOrtSessionOptions({ prepackWeights: false }).extra).toEqual({ session: { disable_prepacking: '1' } });
    expect(toOrtSessionOptions({ prepackWeights: true }).extra).toBeUndefined();
    expect(() => resolveSessionOptions({ prepackWeights: 'yes' as never }, {})).toThrow(/sessionOptions.prepackWeights must be true or false, got "yes"/);
  });

  it('names the bad field', () => {
    expect(() => resolveSessionOptions({ threads: 0 }, {})).toThrow(/sessionOptions.threads must be a positive integer, got 0/);
    expect(() => resolveSessionOptions({ executionProvider: 'metal' as never }, {})).toThrow(InvalidArgumentError);
    expect(() => resolveSessionOptions({ graphOptimizationLevel: 'max' as never }, {})).toThrow(/'disabled' \| 'basic' \| 'extended' \| 'all'/);
    expect(() => resolveSessionOptions(null as never, {})).toThrow(/sessionOptions must be an object/);
  });
});
