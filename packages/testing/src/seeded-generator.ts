/**
 * A small deterministic {@link Generator} for conformance tests: reproducible N(0, 1) samples
 * from a seed, independent of any other package. It is not torch-compatible (use the pipeline's
 * generator to reproduce diffusers' numbers); it only has to be seeded and well distributed.
 */
import { InvalidArgumentError, numel, type Generator } from '@latentkit/core';

/**
 * SplitMix32 uniforms (Steele et al., "Fast splittable pseudorandom number generators", 2014,
 * with 32-bit constants) turned into normals by the Box–Muller transform.
 *
 * @example
 * ```ts
 * const generator = new SeededGenerator(42);
 * generator.randn([1, 4, 8, 8]); // Float32Array(256), the same on every run
 * ```
 */
export class SeededGenerator implements Generator {
  readonly specificationVersion = 'v1' as const;
  private state = 0;
  private seed = 0n;

  constructor(seed: number | bigint = 0) {
    this.manualSeed(seed);
  }

  randn(dims: readonly number[]): Float32Array {
    const out = new Float32Array(numel(dims));
    for (let i = 0; i < out.length; i += 2) {
      const radius = Math.sqrt(-2 * Math.log(this.nextUniform()));
      const angle = 2 * Math.PI * this.nextUniform();
      out[i] = radius * Math.cos(angle);
      if (i + 1 < out.length) out[i + 1] = radius * Math.sin(angle);
    }
    return out;
  }

  manualSeed(seed: number | bigint): this {
    if ((typeof seed !== 'number' || !Number.isInteger(seed)) && typeof seed !== 'bigint') {
      throw new InvalidArgumentError({ name: 'seed', expected: 'an integer or a bigint', actual: seed });
    }
    this.seed = BigInt(seed);
    this.state = Number(BigInt.asIntN(32, this.seed ^ (this.seed >> 32n)));
    return this;
  }

  initialSeed(): bigint {
    return this.seed;
  }

  /** A uniform in (0, 1]: Box–Muller takes its logarithm. */
  private nextUniform(): number {
    this.state = (this.state + 0x9e3779b9) | 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    z ^= z >>> 16;
    return ((z >>> 0) + 1) / 4294967296;
  }
}
