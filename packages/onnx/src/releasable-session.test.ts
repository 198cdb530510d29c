import type * as ort from 'onnxruntime-node';
import { StateError } from '@latentkit/core';
import { ReleasableSession } from './releasable-session';

describe('ReleasableSession', () => {
  it('hands out the session until released, then throws a StateError naming fromPretrained(); releases once', async () => {
    const release = jest.fn(async () => undefined);
    const session = { release } as unknown as ort.InferenceSession;
    const slot = new ReleasableSession(session, 'MyEncoder');
    expect(slot.session).toBe(session);
    await slot.release();
    await slot.release();
    expect(release).toHaveBeenCalledTimes(1);
    expect(() => slot.session).toThrow(StateError);
    expect(() => slot.session).toThrow('MyEncoder was disposed: load it again with MyEncoder.fromPretrained()');
  });
});
