/**
 * Where a run spends its time, stage by stage, for benchmarks and profiling. Pass one to a
 * pipeline call (`timings`), read it afterwards; whatever is not in a stage is glue
 * (validation, tensor copies, image conversion, callbacks).
 */

/**
 * The stages a pipeline run goes through: `textEncoder` (tokenising and encoding the prompts),
 * `vaeEncode`, `unet` (each call), `guidance` (batching and combining for classifier-free
 * guidance), `scheduler` (timesteps, the starting noise, `scaleModelInput`, `step`, inpainting's
 * blending), `vaeDecode` and `postprocess` (to 8-bit or float images).
 */
export type Stage = 'textEncoder' | 'vaeEncode' | 'unet' | 'guidance' | 'scheduler' | 'vaeDecode' | 'postprocess';

/**
 * Accumulates milliseconds per stage and the count of calls.
 *
 * @example
 * ```ts
 * const timings = new StageTimings();
 * await pipeline.textToImage({ prompt: 'a red circle', timings });
 * console.log(timings.summary()); // { total, stages: { unet: { ms, calls }, … }, glue }
 * ```
 */
export class StageTimings {
  private readonly totals = new Map<Stage, { ms: number; calls: number }>();
  private started: number | undefined;
  private finished: number | undefined;

  /** Marks the start of the whole run (the pipeline calls it). */
  start(): void {
    this.started = performance.now();
    this.finished = undefined;
  }

  /** Marks the end of the whole run. */
  stop(): void {
    this.finished = performance.now();
  }

  add(stage: Stage, milliseconds: number): void {
    const entry = this.totals.get(stage) ?? { ms: 0, calls: 0 };
    entry.ms += milliseconds;
    entry.calls += 1;
    this.totals.set(stage, entry);
  }

  /** Times an async stage. */
  async time<T>(stage: Stage, work: () => Promise<T> | T): Promise<T> {
    const begin = performance.now();
    try {
      return await work();
    } finally {
      this.add(stage, performance.now() - begin);
    }
  }

  /** Total, per-stage figures, and glue = total − Σ stages. */
  summary(): { total: number; stages: Partial<Record<Stage, { ms: number; calls: number }>>; glue: number } {
    const total = (this.finished ?? performance.now()) - (this.started ?? performance.now());
    const stages = Object.fromEntries(this.totals) as Partial<Record<Stage, { ms: number; calls: number }>>;
    const inStages = [...this.totals.values()].reduce((sum, s) => sum + s.ms, 0);
    return { total, stages, glue: total - inStages };
  }
}
