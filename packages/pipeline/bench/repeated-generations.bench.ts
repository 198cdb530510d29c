/**
 * What several text-to-image calls in one process cost, with the text encoder kept (the default)
 * or released after each call's prompts are encoded (`releaseTextEncoder`, the CLI's default):
 * per generation its time, the steps' times, the stages, the page faults and system time, and
 * the resident memory after it. Not in CI. On a real-size export with a filled cache (e.g. the
 * one `pnpm bench:real -- <model> --only cold --cache DIR` leaves):
 *
 *   npx tsx bench/repeated-generations.bench.ts <model folder> <cache folder> keep|release [generations] [steps]
 */
import { StableDiffusionPipeline, StageTimings } from '../src/index';

const seconds = (ms: number): string => (ms / 1000).toFixed(2);
const gb = (bytes: number): string => (bytes / 2 ** 30).toFixed(2);

async function main(): Promise<void> {
  const [folder, cache, mode = 'keep', generations = '3', steps = '2'] = process.argv.slice(2);
  if (folder === undefined || cache === undefined || (mode !== 'keep' && mode !== 'release')) {
    throw new Error('usage: repeated-generations.bench.ts <model folder> <cache folder> keep|release [generations] [steps]');
  }
  const loadStart = performance.now();
  const pipeline = await StableDiffusionPipeline.fromPretrained(folder, {
    sessionOptions: { optimizedModelCache: cache },
    cacheDir: cache,
    releaseTextEncoder: mode === 'release',
  });
  console.log(`${mode}: load ${seconds(performance.now() - loadStart)} s, resident ${gb(process.memoryUsage().rss)} GB`);
  try {
    for (let run = 0; run < Number(generations); run++) {
      const timings = new StageTimings();
      const before = process.resourceUsage();
      const start = performance.now();
      let last = start;
      const stepSeconds: string[] = [];
      await pipeline.textToImage({
        prompt: 'a photograph of an astronaut riding a horse',
        numInferenceSteps: Number(steps),
        seed: run,
        timings,
        onStep: () => {
          const now = performance.now();
          stepSeconds.push(seconds(now - last));
          last = now;
        },
      });
      const after = process.resourceUsage();
      const stages = Object.entries(timings.summary().stages).map(([stage, { ms }]) => `${stage} ${seconds(ms)}`).join(', ');
      console.log(
        `generation ${run}: ${seconds(performance.now() - start)} s (steps ${stepSeconds.join(' / ')}; ${stages}); ` +
          `${((after.minorPageFault - before.minorPageFault) / 1e6).toFixed(2)} M page faults, ` +
          `${((after.systemCPUTime - before.systemCPUTime) / 1e6).toFixed(1)} s system; ` +
          `resident ${gb(process.memoryUsage().rss)} GB, peak ${gb(after.maxRSS * 1024)} GB`,
      );
    }
  } finally {
    await pipeline.dispose();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
