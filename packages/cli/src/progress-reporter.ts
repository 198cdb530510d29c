/**
 * Denoising progress: a bar with steps per second on a terminal (cli-progress, loaded only
 * there), plain lines such as `step 3/20 t=741 1.9 it/s` otherwise (logs, pipes, CI), at most
 * ten per run so that a 1000-step run does not flood a log.
 */

/** The stream progress goes to (stderr, so that stdout stays clean for scripts). */
export interface ProgressStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
}

/** Receives the pipeline's step reports. */
export interface ProgressReporter {
  /** `step` is 0-based, as the pipeline reports it. */
  update(step: number, numSteps: number, timestep: number): void;
  stop(): void;
}

/** Steps per second, measured from the first report (the first step also counts from `start`). */
class StepRate {
  private first: number | undefined;
  constructor(private readonly start: number) {}

  rate(step: number, now: number): number {
    if (this.first === undefined || step === 0) {
      this.first = now;
      return 1000 / Math.max(now - this.start, 1e-3);
    }
    return (1000 * step) / Math.max(now - this.first, 1e-3);
  }
}

function formatRate(rate: number): string {
  return rate >= 10 ? rate.toFixed(0) : rate.toFixed(1);
}

/** Plain lines for logs: at most {@link MAX_LOG_LINES} per run (every k-th step and the last). */
export const MAX_LOG_LINES = 10;

function lineReporter(stream: ProgressStream, label: string): ProgressReporter {
  const rates = new StepRate(performance.now());
  return {
    update(step, numSteps, timestep) {
      const rate = rates.rate(step, performance.now());
      const every = Math.ceil(numSteps / MAX_LOG_LINES);
      if ((step + 1) % every !== 0 && step + 1 !== numSteps) return;
      stream.write(`${label}step ${step + 1}/${numSteps} t=${Math.round(timestep * 1000) / 1000} ${formatRate(rate)} it/s\n`);
    },
    stop() {},
  };
}

/** A cli-progress bar, redrawn in place. */
function barReporter(stream: ProgressStream, label: string): ProgressReporter {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { SingleBar, Presets } = require('cli-progress') as typeof import('cli-progress');
  const rates = new StepRate(performance.now());
  let bar: InstanceType<typeof SingleBar> | undefined;
  return {
    update(step, numSteps, timestep) {
      const payload = { timestep: String(Math.round(timestep)), rate: formatRate(rates.rate(step, performance.now())) };
      if (!bar) {
        bar = new SingleBar(
          {
            format: `${label}{bar} {value}/{total} | t={timestep} | {rate} it/s | ETA {eta_formatted}`,
            stream: stream as NodeJS.WritableStream,
            hideCursor: true,
            clearOnComplete: false,
          },
          Presets.shades_classic,
        );
        bar.start(numSteps, 0, payload);
      }
      bar.update(step + 1, payload);
    },
    stop() {
      bar?.stop();
    },
  };
}

/**
 * A reporter for the stream: a bar on a terminal, lines elsewhere, nothing when quiet.
 *
 * @example
 * ```ts
 * const progress = createProgressReporter(process.stderr, { label: 'denoising ' });
 * await pipeline.textToImage({ prompt, onStep: (s) => progress.update(s.step, s.numSteps, s.timestep) });
 * progress.stop();
 * ```
 */
export function createProgressReporter(stream: ProgressStream, options: { quiet?: boolean; label?: string } = {}): ProgressReporter {
  if (options.quiet) return { update() {}, stop() {} };
  return stream.isTTY ? barReporter(stream, options.label ?? '') : lineReporter(stream, options.label ?? '');
}
