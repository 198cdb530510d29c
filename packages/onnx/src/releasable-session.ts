/**
 * The onnxruntime session a component owns until `dispose()`: used after release, it says how to
 * get a working component again instead of failing inside onnxruntime.
 */
import type * as ort from 'onnxruntime-node';
import { StateError } from '@latentkit/core';

/**
 * A session that its owner releases once; {@link ReleasableSession.session} afterwards throws a
 * {@link StateError} naming the owner's `fromPretrained()`.
 *
 * @example
 * ```ts
 * const slot = new ReleasableSession(session, 'CLIPTextEncoder');
 * await slot.session.run(feeds);
 * await slot.release();
 * slot.session; // StateError: CLIPTextEncoder was disposed: load it again with CLIPTextEncoder.fromPretrained()
 * ```
 */
export class ReleasableSession {
  private current: ort.InferenceSession | undefined;

  /** @param owner the class that loads the session with `fromPretrained()`, named in the error. */
  constructor(
    session: ort.InferenceSession,
    private readonly owner: string,
  ) {
    this.current = session;
  }

  /** The open session, or a {@link StateError} once released. */
  get session(): ort.InferenceSession {
    if (!this.current) throw new StateError(`${this.owner} was disposed: load it again with ${this.owner}.fromPretrained()`);
    return this.current;
  }

  /** Releases the session; a second call does nothing. */
  async release(): Promise<void> {
    const session = this.current;
    this.current = undefined;
    await session?.release();
  }
}
