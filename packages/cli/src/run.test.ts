import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { capturedIo } from './__fixtures__/captured-io';
import { ExitCode } from './exit-codes';
import { run } from './run';

describe('run: usage', () => {
  it('prints the main help with exit 0 for --help and for no arguments alike', async () => {
    const io = capturedIo();
    expect(await run(['--help'], io)).toBe(ExitCode.ok);
    expect(io.out()).toMatch(/^latentkit \d+\.\d+\.\d+: Stable Diffusion from the command line\n/);
    expect(io.out()).toContain('latentkit generate "<prompt>" [options]');
    const bare = capturedIo();
    // No arguments asks for help as --help does: the same text, the same exit code.
    expect(await run([], bare)).toBe(ExitCode.ok);
    expect(bare.out()).toBe(io.out());
  });

  it('prints a command’s options for <command> --help and help <command>', async () => {
    const io = capturedIo();
    expect(await run(['generate', '--help'], io)).toBe(ExitCode.ok);
    for (const flag of ['--model', '--steps', '--scheduler', '--seed', '--guidance', '--width', '--height', '--negative', '--out', '--text-encoder', '--count']) {
      expect(io.out()).toContain(flag);
    }
    const again = capturedIo();
    expect(await run(['help', 'inspect'], again)).toBe(ExitCode.ok);
    expect(again.out()).toContain('--json');
  });

  it('prints the version', async () => {
    const io = capturedIo();
    expect(await run(['--version'], io)).toBe(ExitCode.ok);
    const { version } = JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
    expect(io.out()).toBe(`${version}\n`);
  });

  it.each([
    [['paint', 'x'], "latentkit: unknown command 'paint'. Commands: generate, img2img, inpaint, denoise, inspect, schedulers, serve, worker. Run 'latentkit --help' for usage.\n"],
    [['generate'], 'latentkit generate: missing the prompt: latentkit generate "a red circle on a blue background"\nRun \'latentkit generate --help\' for usage.\n'],
    [['generate', 'a red circle', '--step', '3'], "latentkit generate: unknown option '--step' for 'latentkit generate': did you mean --steps?\nRun 'latentkit generate --help' for usage.\n"],
    [['generate', 'a red circle', '--seed', '-1'], "latentkit generate: --seed must be an integer in [0, 9007199254740991], got '-1'\nRun 'latentkit generate --help' for usage.\n"],
    [['generate', 'a red circle', '--guidance', 'high'], "latentkit generate: --guidance must be a number in [0, 100], got 'high'\nRun 'latentkit generate --help' for usage.\n"],
    [['img2img', 'a red circle'], "latentkit img2img: --image <file> is required for img2img\nRun 'latentkit img2img --help' for usage.\n"],
    [['img2img', 'a red circle', '--image', '/nonexistent/in.png'], "latentkit img2img: --image /nonexistent/in.png: the file does not exist\nRun 'latentkit img2img --help' for usage.\n"],
    [['denoise', 'a prompt', '--image', 'x.png'], "latentkit denoise: denoise takes no prompt, got 'a prompt': latentkit denoise --image noisy.png --strength 0.3\nRun 'latentkit denoise --help' for usage.\n"],
    [['inspect'], "latentkit inspect: missing the model folder: latentkit inspect <model-folder>\nRun 'latentkit inspect --help' for usage.\n"],
  ])('exits 2 with a clear message for %j', async (argv, message) => {
    const io = capturedIo();
    expect(await run(argv, io)).toBe(ExitCode.usage);
    expect(io.err()).toBe(message);
    expect(io.out()).toBe('');
  });
});
