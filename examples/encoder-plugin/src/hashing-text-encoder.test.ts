import { InvalidArgumentError, StateError } from '@latentkit/core';
import { describeTextEncoderConformance } from '@latentkit/testing';
import { createHashingTextEncoder, hashingTokens } from './hashing-text-encoder';

// The same suite latentkit's own encoders pass. Batch tolerance 0: rows are computed independently.
describeTextEncoderConformance('hashing encoder (64 wide, 16 tokens)', () => createHashingTextEncoder({ hiddenSize: 64, maxLength: 16 }), {
  hiddenSize: 64,
  maxLength: 16,
  batchTolerance: 0,
});
describeTextEncoderConformance('hashing encoder (odd width 33, CLIP length 77)', () => createHashingTextEncoder({ hiddenSize: 33 }), {
  hiddenSize: 33,
  maxLength: 77,
  batchTolerance: 0,
});

describe('createHashingTextEncoder', () => {
  const encoder = createHashingTextEncoder({ hiddenSize: 8, maxLength: 6 });
  const row = (data: Float32Array, batch: number, position: number) => Array.from(data.subarray((batch * 6 + position) * 8, (batch * 6 + position + 1) * 8));

  it('splits prompts into lower-cased words and punctuation', () => {
    expect(hashingTokens('A RED circle, on Blue!')).toEqual(['a', 'red', 'circle', ',', 'on', 'blue', '!']);
    expect(hashingTokens('ｒｏｔ Kreis')).toEqual(['rot', 'kreis']);
    expect(hashingTokens('  ')).toEqual([]);
  });

  it('is case-insensitive and embeds a word by its hash, whatever its neighbours', async () => {
    const { hiddenStates } = await encoder.encode(['red circle', 'RED square']);
    // Position 1 holds the first word in both prompts: identical vectors (exact, same arithmetic).
    expect(row(hiddenStates.data, 0, 1)).toEqual(row(hiddenStates.data, 1, 1));
    expect(row(hiddenStates.data, 0, 2)).not.toEqual(row(hiddenStates.data, 1, 2));
  });

  it('mixes in the position: the same word differs at different positions', async () => {
    const { hiddenStates } = await encoder.encode(['red red']);
    expect(row(hiddenStates.data, 0, 1)).not.toEqual(row(hiddenStates.data, 0, 2));
  });

  it('cuts long prompts to maxLength, keeping the end token last', async () => {
    const long = await encoder.encode(['one two three four five six seven']);
    const cut = await encoder.encode(['one two three four']);
    expect(long.hiddenStates.dims).toEqual([1, 6, 8]);
    expect(Array.from(long.hiddenStates.data)).toEqual(Array.from(cut.hiddenStates.data));
  });

  it('changes every embedding with the seed, and repeats with the same seed', async () => {
    const a = await createHashingTextEncoder({ hiddenSize: 8, maxLength: 6, seed: 1 }).encode(['red']);
    const b = await createHashingTextEncoder({ hiddenSize: 8, maxLength: 6, seed: 1 }).encode(['red']);
    const c = await createHashingTextEncoder({ hiddenSize: 8, maxLength: 6, seed: 2 }).encode(['red']);
    expect(Array.from(a.hiddenStates.data)).toEqual(Array.from(b.hiddenStates.data));
    expect(Array.from(a.hiddenStates.data)).not.toEqual(Array.from(c.hiddenStates.data));
  });

  it('returns a pooled vector: the mean of the word vectors', async () => {
    const { pooled } = await encoder.encode(['red', 'red red']);
    expect(pooled!.dims).toEqual([2, 8]);
    expect(Array.from(pooled!.data.subarray(0, 8))).toEqual(Array.from(pooled!.data.subarray(8, 16)));
  });

  it('rejects bad settings with messages that name the value and the range', () => {
    expect(() => createHashingTextEncoder({ hiddenSize: 0 })).toThrow('hiddenSize must be an integer ≥ 1, got 0');
    expect(() => createHashingTextEncoder({ hiddenSize: 32, maxLength: 1 })).toThrow('maxLength must be an integer ≥ 2, got 1');
    expect(() => createHashingTextEncoder({ hiddenSize: '32' as never })).toThrow(InvalidArgumentError);
  });

  it('names the bad prompt and says how to fix a bare string', async () => {
    await expect(encoder.encode('a red circle' as never)).rejects.toThrow(
      `prompts must be an array of strings, got "a red circle": wrap a single prompt in an array: encode(['a red circle'])`,
    );
    await expect(encoder.encode(['ok', 7] as never)).rejects.toThrow('prompts[1] must be a string, got 7');
  });

  it('refuses to encode after dispose() with a StateError', async () => {
    const disposable = createHashingTextEncoder({ hiddenSize: 8 });
    disposable.dispose!();
    const error = await disposable.encode(['x']).catch((e: unknown) => e);
    expect(StateError.isInstance(error)).toBe(true);
  });
});
