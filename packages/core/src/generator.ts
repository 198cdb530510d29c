/**
 * The random-number contract. Schedulers and pipelines draw all noise through a `Generator`,
 * so that a seed fixes every random number of a run.
 */

/** A seeded source of standard normal samples. */
export interface Generator {
  readonly specificationVersion: 'v1';
  /** Draws `numel(dims)` independent N(0, 1) samples in row-major order. */
  randn(dims: readonly number[]): Float32Array;
  /** Restarts the stream from a seed. */
  manualSeed(seed: number | bigint): this;
  /** The seed the stream was last started from. */
  initialSeed(): bigint;
}
