/**
 * The built executable (`dist/bin.js`) in child processes, on the faults and bad input of issue 17
 * (items 3, 5, 8, 10–12) and the CLI items of issue 16 (6–11): every case fails before any compute
 * with a message naming the value and the fix, or does the right thing, and exits with the code
 * a shell user expects (0 ok, 1 run time, 2 usage, 3 model).
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { SCHEDULER_ALIASES, SCHEDULER_CLASSES } from '@latentkit/pipeline';
import { modelPath } from '@latentkit/model-tiny';
import { describeWithReference, renderShapeImage } from '@latentkit/testing';
import { readImageFile, writePngFile } from './png-files';
import { scratchFolder } from './__fixtures__/scratch-folder';

const bin = path.join(__dirname, '..', 'dist', 'bin.js');
const built = existsSync(bin);
if (!built) console.warn(`Skipping the built CLI's tests: ${bin} is absent (pnpm --filter @latentkit/cli build)`);

interface Result { code: number | null; stdout: string; stderr: string }

function latentkit(argv: readonly string[], options: { shell?: string } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = options.shell
      ? spawn('sh', ['-c', options.shell], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(process.execPath, [bin, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const scratch = scratchFolder('latentkit-bin-');

(built ? describe : describe.skip)('the built latentkit: usage, help, schedulers', () => {
  it('-V and --version print the version; no arguments prints the same help as --help, exit 0', async () => {
    const [short, long, bare, help] = await Promise.all([latentkit(['-V']), latentkit(['--version']), latentkit([]), latentkit(['--help'])]);
    expect([short.code, short.stdout]).toEqual([0, long.stdout]);
    expect(short.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect([bare.code, bare.stdout, bare.stderr]).toEqual([0, help.stdout, '']);
    expect(help.stdout).toContain('-V, --version');
  });

  it('latentkit schedulers lists every class and every alias', async () => {
    const listed = await latentkit(['schedulers']);
    expect(listed.code).toBe(0);
    for (const name of [...Object.keys(SCHEDULER_CLASSES), ...Object.keys(SCHEDULER_ALIASES)]) expect(listed.stdout).toContain(name);
    expect(listed.stdout).toContain('DPM++ 2M Karras, dpmpp_2m_karras   (use_karras_sigmas: true)');
    const json = JSON.parse((await latentkit(['schedulers', '--json'])).stdout) as Record<string, string[]>;
    expect(Object.keys(json)).toEqual(Object.keys(SCHEDULER_CLASSES));
    expect(json.EulerAncestralDiscreteScheduler).toEqual(expect.arrayContaining(['Euler a', 'euler_a', 'euler_ancestral']));
  });

  it('a reader that closes stdout early (| head -1) ends the output quietly', async () => {
    const result = await latentkit([], { shell: `"${process.execPath}" "${bin}" schedulers | head -1` });
    expect(result.stdout.split('\n').filter(Boolean)).toHaveLength(1);
    expect(result.stderr).toBe('');
  });
});

(built ? describe : describe.skip)('the built latentkit: the output is checked before generating', () => {
  const prompt = 'a red circle';
  it.each([
    ['a folder', () => scratch(), /--out .*: it is a folder; name an image file/],
    ['a path under a file', () => (writeFileSync(path.join(scratch(), 'plain'), 'x'), path.join(scratch(), 'plain', 'sub', 'x.png')), /--out .*plain\/sub\/x\.png: .*plain is a file, not a folder; choose another path/],
    ['/dev/full', () => '/dev/full', /--out \/dev\/full: it is not a regular file \(a device or a pipe\); name an image file/],
    ['an unknown extension', () => path.join(scratch(), 'x.bmp'), /--out .*x\.bmp: '\.bmp' is not an image format latentkit writes; use \.png, \.jpg, \.jpeg, \.webp/],
    ['no extension', () => path.join(scratch(), 'x'), /--out .*x: the name has no extension; use \.png/],
  ])('%s: exit 2 with a clear message and no step run', async (_, out, message) => {
    const result = await latentkit(['generate', prompt, '--steps', '2', '--out', out(), '--model', modelPath]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/step \d|at .*\.js:\d+/);
  });

  it('refuses a device as the target', async () => {
    const link = path.join(scratch(), 'full.png');
    symlinkSync('/dev/full', link);
    const result = await latentkit(['generate', prompt, '--out', link, '--model', modelPath]);
    expect([result.code, result.stderr]).toEqual([2, `latentkit generate: --out ${link}: it is not a regular file (a device or a pipe); name an image file\nRun 'latentkit generate --help' for usage.\n`]);
  });

  it('writes the format the extension names (PNG, JPEG, WebP), through sharp', async () => {
    // (.png is written by every other generation test; the extension's case is unit-tested.)
    for (const [name, magic] of [['x.jpg', 'ffd8ff'], ['x.webp', '52494646']] as const) {
      const out = path.join(scratch(), 'formats', name);
      const result = await latentkit(['generate', prompt, '--steps', '2', '--seed', '1', '--out', out, '-q', '--model', modelPath]);
      expect({ name, code: result.code, stderr: result.stderr }).toEqual({ name, code: 0, stderr: '' });
      expect(readFileSync(out).subarray(0, magic.length / 2).toString('hex')).toBe(magic);
      if (name === 'x.webp') expect(readFileSync(out).subarray(8, 12).toString()).toBe('WEBP');
    }
  });
});

(built ? describe : describe.skip)('the built latentkit on latentkit-tiny: defaults, warnings, resizing', () => {
  it("uses the model's recommended defaults (DDIM, 20 steps, guidance 5) and prints at most 10 progress lines without a terminal", async () => {
    const result = await latentkit(['generate', 'a red circle', '--seed', '3', '--out', path.join(scratch(), 'defaults.png'), '--model', modelPath]);
    expect(result.code).toBe(0);
    const steps = result.stderr.split('\n').filter((line) => line.startsWith('step '));
    expect(steps.map((line) => line.split(' ')[1])).toEqual(['2/20', '4/20', '6/20', '8/20', '10/20', '12/20', '14/20', '16/20', '18/20', '20/20']);
  });

  it('warns that --steps 1 with leading spacing starts at t=1 and says what to pass', async () => {
    const result = await latentkit(['generate', 'a red circle', '--steps', '1', '--out', path.join(scratch(), 'one.png'), '-q', '--model', modelPath]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(
      "latentkit: warning: with --steps 1, DDIMScheduler ('leading' timestep spacing) starts denoising at t=1 of 1000, so the image will stay mostly noise: " +
        'pass --steps 2 or more, or use a scheduler config with "timestep_spacing": "trailing" (its first step is t=999)\n',
    );
  });

  it("warns on stderr naming the words the multilingual tokenizer does not know ('türkiser')", async () => {
    const result = await latentkit(['generate', 'ein türkiser Kreis auf blauem Hintergrund', '--text-encoder', 'multilingual', '--steps', '2', '-q', '--out', path.join(scratch(), 'tuerkis.png'), '--model', modelPath]);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/^latentkit: warning: the prompt's words? .*'türkiser'.* reach the model as \[UNK\]: rephrase/);
  });

  it('refuses --steps beyond the schedule before any compute, naming the limit', async () => {
    const result = await latentkit(['generate', 'a red circle', '--steps', '1000', '--out', path.join(scratch(), 'many.png'), '--model', modelPath]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^latentkit generate: --steps: numInferenceSteps must be at most 999 steps with this config \(timestep_spacing 'leading', steps_offset 1, num_train_timesteps 1000\), got 1000/);
    expect(result.stderr).not.toContain('step 1/');
  });

  // fit and stretch: src/image-output.test.ts resizes in every mode in process.
  it.each(['fit'])('resizes an img2img input of another size to the model’s 64×64 with --resize %s, with a note', async (mode) => {
    const image = path.join(scratch(), `wide-${mode}.png`);
    await writePngFile(image, renderShapeImage({ shape: 'circle', foreground: 'red', background: 'blue', size: 16, width: 96, height: 48 }));
    const out = path.join(scratch(), `resized-${mode}.png`);
    const result = await latentkit(['img2img', 'a green circle', '--image', image, '--resize', mode, '--steps', '4', '--out', out, '--model', modelPath]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`note: --image is 96×48; resized to 64×64 (the model's size) with --resize ${mode} (crop, fit or stretch)\n`);
    const written = await readImageFile(out, '--out');
    expect([written.width, written.height]).toEqual([64, 64]);
  });

  it('refuses --long-prompts chunk where the UNet export has a fixed text length (latentkit-tiny: 77)', async () => {
    const result = await latentkit(['generate', 'a red circle', '--long-prompts', 'chunk', '--out', path.join(scratch(), 'c.png'), '--model', modelPath]);
    expect([result.code, result.stderr.split('\n')[0]]).toEqual([
      2,
      'latentkit generate: --long-prompts chunk needs a UNet with a dynamic text axis, but this export takes exactly 77 text states: shorten the prompt',
    ]);
  });

  it('refuses an unknown --resize mode', async () => {
    const result = await latentkit(['img2img', 'x', '--image', 'in.png', '--resize', 'zoom']);
    expect([result.code, result.stderr.split('\n')[0]]).toEqual([2, "latentkit img2img: --resize must be crop, fit, stretch, got 'zoom'"]);
  });
});

describeWithReference('the built latentkit on broken copies of tiny-sd', ['tiny-sd', 'onnx'], (tinySd) => {
  /** A copy of tiny-sd with some files replaced. */
  function copyWith(name: string, files: Record<string, string>): string {
    const folder = path.join(scratch(), name);
    cpSync(tinySd, folder, { recursive: true });
    for (const [file, text] of Object.entries(files)) writeFileSync(path.join(folder, file), text);
    return folder;
  }
  const schedulerConfig = () => JSON.parse(readFileSync(path.join(tinySd, 'scheduler/scheduler_config.json'), 'utf8')) as Record<string, unknown>;

  it('refuses a negative steps_offset at load (exit 3) instead of writing a black image', async () => {
    const folder = copyWith('offset', { 'scheduler/scheduler_config.json': JSON.stringify({ ...schedulerConfig(), steps_offset: -5 }) });
    const out = path.join(scratch(), 'black.png');
    const result = await latentkit(['generate', 'a red circle', '--steps', '3', '--out', out, '--model', folder]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('PNDMScheduler config.steps_offset must be an integer in [0, 999]');
    expect(result.stderr).toContain('got -5: set steps_offset to 1');
    expect(existsSync(out)).toBe(false);
  });

  it('reports a prediction_type typo against scheduler_config.json', async () => {
    const folder = copyWith('prediction', { 'scheduler/scheduler_config.json': JSON.stringify({ ...schedulerConfig(), prediction_type: 'epsilom' }) });
    const result = await latentkit(['generate', 'a red circle', '--out', path.join(scratch(), 'p.png'), '--model', folder]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('scheduler_config.json');
    expect(result.stderr).not.toContain('unet/config.json');
    expect(result.stderr).toContain('epsilom');
  });

  it('model_index.json = {} says the folder lists no components (exit 3)', async () => {
    const folder = copyWith('empty-index', { 'model_index.json': '{}' });
    const result = await latentkit(['generate', 'a red circle', '--out', path.join(scratch(), 'e.png'), '--model', folder]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("it has no 'unet' component (it lists no components)");
  });

  it('refuses 34×34 up front with the nearest sizes the UNet runs (exit 2)', async () => {
    const result = await latentkit(['generate', 'a red circle', '--width', '34', '--height', '34', '--out', path.join(scratch(), 's.png'), '--model', tinySd]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^latentkit generate: --width: width must be a multiple of 4 .*got 34: use 32 or 36/);
  });

  it('says the seed limit for 2^53', async () => {
    const result = await latentkit(['generate', 'a red circle', '--seed', String(2 ** 53), '--model', tinySd]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--seed must be an integer in [0, 9007199254740991]');
  });

  it('names the words cut at 77 tokens and offers --long-prompts chunk, which then runs (tiny-sd takes any text length)', async () => {
    const long = `a red circle ${Array.from({ length: 80 }, (_, i) => `w${i}`).join(' ')}`;
    const cut = await latentkit(['generate', long, '--steps', '2', '-q', '--out', path.join(scratch(), 'long.png'), '--model', tinySd]);
    expect(cut.code).toBe(0);
    expect(cut.stderr).toMatch(/^latentkit: warning: the prompt is \d+ tokens but the text encoder reads 77: 'w\d+', .*'w79' are cut off; shorten it or pass --long-prompts chunk\n$/);
    const chunked = await latentkit(['generate', long, '--long-prompts', 'chunk', '--steps', '2', '-q', '--out', path.join(scratch(), 'long.png'), '--model', tinySd]);
    expect([chunked.code, chunked.stderr]).toEqual([0, '']);
  });

  it('inspect on a 9-channel (inpainting) folder says it runs inpaint only, and why not the rest', async () => {
    const config = JSON.parse(readFileSync(path.join(tinySd, 'unet/config.json'), 'utf8')) as Record<string, unknown>;
    const folder = copyWith('nine', { 'unet/config.json': JSON.stringify({ ...config, in_channels: 9 }) });
    // The config alone speaks for the UNet: tiny-sd's graph takes 4 channels, and a config that
    // contradicts its graph makes the folder run nothing at all.
    for (const file of ['model.onnx', 'weights.pb']) rmSync(path.join(folder, 'unet', file), { force: true });
    const result = await latentkit(['inspect', folder]);
    expect(result.stdout).toContain('runs: inpaint only\n  not generate, img2img, denoise: the UNet is an inpainting UNet (9 = 4 + 4 + 1 input channels): it needs an image and a mask\n');
  });
});
