/**
 * A scheduler plugin written outside latentkit's packages (`scheduler-plugin/plain-ddim-scheduler.ts`,
 * deterministic DDIM from its equations), registered in a plugin registry and picked by
 * `StableDiffusionPipeline.fromPretrained()` for the model's scheduler slot. The same prompt and
 * seed then run with the built-in `DDIMScheduler` of `@latentkit/schedulers`, and the two results
 * are compared latent for latent and pixel for pixel.
 *
 *   pnpm --filter @latentkit/examples exec tsx custom-scheduler.ts [--steps 20]
 */
import * as path from 'node:path';
import { PluginRegistry, readModelFolder } from '@latentkit/core';
import { StableDiffusionPipeline } from '@latentkit/pipeline';
import { schedulerFromName } from '@latentkit/schedulers';
import { displayPath, parseFlags, printer, processIo, runIfScript, type ExampleIo } from './lib/example-cli';
import { psnr } from './lib/images';
import { saveLabelledGrid } from './lib/labelled-grid';
import { PlainDdimScheduler, register, type PlainDdimConfig } from './scheduler-plugin/plain-ddim-scheduler';

const FLAGS = {
  prompt: { type: 'string', default: 'a red circle on a blue background', help: 'the prompt' },
  steps: { type: 'number', default: 20, help: 'denoising steps' },
  seed: { type: 'number', default: 0, help: 'seed' },
} as const;

/**
 * Generates with the plugin's scheduler and with the built-in one, and compares.
 *
 * @example
 * ```ts
 * await main(['--steps', '10']);
 * ```
 */
export async function main(argv: readonly string[], io: ExampleIo = processIo): Promise<void> {
  const print = printer(io);
  const { model, outDir, values } = parseFlags(argv, FLAGS);
  const request = { prompt: String(values.prompt), numInferenceSteps: Number(values.steps), seed: Number(values.seed) };

  // A registry of our own: the pipeline registers latentkit's plugins in it too, and ours wins by priority.
  const registry = register(new PluginRegistry());
  let pipeline = await StableDiffusionPipeline.fromPretrained(model, { registry });
  const folderConfig = (await readModelFolder(model)).components.get('scheduler')?.config ?? {};
  try {
    if (pipeline.scheduler instanceof PlainDdimScheduler) {
      print(`registry: the model's scheduler slot ["diffusers", "DDIMScheduler"] was created by plugin '${registry.resolve('scheduler', { slot: 'scheduler', library: 'diffusers', className: 'DDIMScheduler' }).name}' → ${pipeline.scheduler.className}`);
    } else {
      // A folder whose scheduler is not DDIM: our plugin declined it; use the scheduler directly with the folder's betas.
      print(`registry: the model's scheduler is ${pipeline.scheduler.className}, which the plugin declines; using PlainDdimScheduler with the folder's noise schedule`);
      pipeline = new StableDiffusionPipeline({ unet: pipeline.unet, vae: pipeline.vae, textEncoder: pipeline.textEncoder, scheduler: new PlainDdimScheduler(folderConfig as PlainDdimConfig) });
    }
    const ours = await pipeline.textToImage(request);
    print(`${pipeline.scheduler.className}: ran ${request.numInferenceSteps} steps, timesteps ${formatTimesteps(pipeline.scheduler)}`);

    const builtInScheduler = schedulerFromName('DDIMScheduler', folderConfig);
    const builtIn = new StableDiffusionPipeline({ unet: pipeline.unet, vae: pipeline.vae, textEncoder: pipeline.textEncoder, scheduler: builtInScheduler });
    const reference = await builtIn.textToImage(request);
    builtInScheduler.setTimesteps(request.numInferenceSteps);
    print(`${builtInScheduler.className} (@latentkit/schedulers): timesteps ${formatTimesteps(builtInScheduler)}`);

    let latentDifference = 0;
    for (let i = 0; i < ours.latents.data.length; i++) latentDifference = Math.max(latentDifference, Math.abs(ours.latents.data[i]! - reference.latents.data[i]!));
    let pixelDifference = 0;
    const [a, b] = [ours.images[0]!, reference.images[0]!];
    for (let i = 0; i < a.data.length; i++) pixelDifference = Math.max(pixelDifference, Math.abs(a.data[i]! - b.data[i]!));
    print();
    print(`max |latent difference|: ${latentDifference.toExponential(2)}`);
    print(`max pixel difference: ${pixelDifference} / 255 (PSNR ${psnr(b, a) === Infinity ? '∞ (identical)' : `${psnr(b, a).toFixed(1)} dB`})`);
    const file = await saveLabelledGrid(path.join(outDir, 'custom-scheduler.png'), [{ label: `seed ${request.seed}`, images: [a, b] }], {
      title: 'the plugin scheduler and the built-in one',
      columns: [`${pipeline.scheduler.className} (plugin)`, `${builtInScheduler.className} (built-in)`],
    });
    print(`images (plugin | built-in): ${displayPath(file)}`);
  } finally {
    await pipeline.dispose();
  }
}

function formatTimesteps(scheduler: { timesteps: readonly number[] }): string {
  const t = scheduler.timesteps;
  return t.length <= 6 ? t.join(', ') : `${t.slice(0, 3).join(', ')}, …, ${t.slice(-2).join(', ')}`;
}

runIfScript(module, main);
