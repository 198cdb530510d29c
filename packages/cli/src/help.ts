/** The CLI's help texts. */
import { formatOptions } from './argument-parser';
import { GENERATION_OPTIONS, type GenerationCommand } from './generation-options';
import { INSPECT_OPTIONS } from './inspect-command';
import { SERVE_OPTIONS, WORKER_OPTIONS } from './serve-command';
import { SCHEDULERS_OPTIONS } from './schedulers-command';

/**
 * The commands `latentkit` knows.
 *
 * @example
 * ```ts
 * COMMANDS.includes('inspect'); // true
 * ```
 */
export const COMMANDS = ['generate', 'img2img', 'inpaint', 'denoise', 'inspect', 'schedulers', 'serve', 'worker'] as const;
export type CommandName = (typeof COMMANDS)[number];

const SYNOPSES: Record<CommandName, string> = {
  generate: 'latentkit generate "<prompt>" [options]            generate an image from a prompt',
  img2img: 'latentkit img2img "<prompt>" --image <file> [options]  change an image towards a prompt',
  inpaint: 'latentkit inpaint "<prompt>" --image <file> --mask <file> [options]  repaint the white part of a mask',
  denoise: 'latentkit denoise --image <file> [options]            clean a noisy image',
  inspect: 'latentkit inspect <model-folder> [--json]             list components, dimensions, whether they fit, and the tasks they run',
  schedulers: 'latentkit schedulers [--json]                        list every scheduler name and alias --scheduler takes',
  serve: 'latentkit serve [--model <folder>] [--port 7860] [--host 127.0.0.1] [--queue redis://…]  HTTP API (AUTOMATIC1111-compatible) and web page',
  worker: 'latentkit worker --queue redis://… [--model <folder>] [--concurrency 1]  run queued jobs for `serve --queue`',
};

const EXAMPLES: Record<CommandName, string> = {
  generate: 'latentkit generate "a red circle on a blue background" --out circle.png --seed 42',
  img2img: 'latentkit img2img "a green square on a white background" --image circle.png --strength 0.7 --out square.png',
  inpaint: 'latentkit inpaint "a yellow triangle" --image circle.png --mask mask.png --out triangle.png',
  denoise: 'latentkit denoise --image noisy.png --strength 0.3 --out clean.png',
  inspect: 'latentkit inspect ./models/stable-diffusion-v1-5-onnx',
  schedulers: 'latentkit schedulers',
  serve: 'latentkit serve --port 7860 --auth-token "$(openssl rand -hex 16)"',
  worker: 'latentkit worker --queue redis://127.0.0.1:6379 --concurrency 1',
};

const OPTIONS_BY_COMMAND = { inspect: INSPECT_OPTIONS, schedulers: SCHEDULERS_OPTIONS, serve: SERVE_OPTIONS, worker: WORKER_OPTIONS } as const;

/**
 * `latentkit --help`.
 *
 * @example
 * ```ts
 * process.stdout.write(mainHelp(cliVersion()));
 * ```
 */
export function mainHelp(version: string): string {
  return [
    `latentkit ${version}: Stable Diffusion from the command line`,
    '',
    'Usage:',
    ...COMMANDS.map((c) => `  ${SYNOPSES[c]}`),
    '',
    "Run 'latentkit <command> --help' for a command's options.",
    'Without --model the bundled latentkit-tiny model (64×64 shapes and colours) is used.',
    'Defaults for --scheduler, --steps and --guidance come from the model folder when it recommends them',
    '("latentkit": { "defaults": { … } } in model_index.json; latentkit-tiny: DDIM, 20 steps, guidance 5),',
    "else diffusers' (the model's scheduler, 50 steps, 7.5).",
    '',
    'Options: -h, --help  show help;  -V, --version  print the version.',
    'Exit codes: 0 ok, 1 failure at run time, 2 usage error, 3 model cannot be loaded or its parts do not fit, 130 interrupted.',
    '',
  ].join('\n');
}

/**
 * `latentkit <command> --help`.
 *
 * @example
 * ```ts
 * process.stdout.write(commandHelp('generate'));
 * ```
 */
export function commandHelp(command: CommandName): string {
  const options = command in OPTIONS_BY_COMMAND ? OPTIONS_BY_COMMAND[command as keyof typeof OPTIONS_BY_COMMAND] : GENERATION_OPTIONS[command as GenerationCommand];
  return [`Usage: ${SYNOPSES[command]}`, '', 'Options:', formatOptions(options), '', 'Example:', `  ${EXAMPLES[command]}`, ''].join('\n');
}
