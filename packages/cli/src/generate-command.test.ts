import * as path from 'node:path';
import { StableDiffusionPipeline } from '@latentkit/pipeline';
import { describeWithReference, renderShapeImage } from '@latentkit/testing';
import { capturedIo } from './__fixtures__/captured-io';
import { scratchFolder } from './__fixtures__/scratch-folder';
import { ExitCode } from './exit-codes';
import { readImageFile, writePngFile } from './png-files';
import { run } from './run';

describeWithReference('latentkit generate / img2img / inpaint / denoise on tiny-sd', ['tiny-sd', 'onnx'], (tinySd) => {
  const scratch = scratchFolder('latentkit-cli-');

  it('writes the pipeline’s image, byte for byte, to the PNG named by --out (exit 0), with plain progress lines', async () => {
    const out = path.join(scratch(), 'generate.png');
    const io = capturedIo({ isTTY: false });
    const argv = ['generate', 'a red circle', '--model', tinySd, '--steps', '3', '--seed', '42', '--guidance', '5', '--negative', 'blue', '--out', out];
    expect(await run(argv, io)).toBe(ExitCode.ok);
    expect(io.out()).toBe(`${out}\n`);
    const lines = io.err().trimEnd().split('\n');
    const summary = lines.pop();
    // PNDM's PLMS visits one timestep twice: 3 steps report 4 scheduler steps.
    expect(lines.length).toBe(4);
    lines.forEach((line, i) => expect(line).toMatch(new RegExp(`^step ${i + 1}/4 t=\\d+ \\d+(\\.\\d)? it/s$`)));
    expect(summary).toMatch(/^wrote 1 image \(32×32\), seed 42: load [\d.]+ s, generate [\d.]+ s$/);

    const written = await readImageFile(out, '--out');
    const pipeline = await StableDiffusionPipeline.fromPretrained(tinySd);
    try {
      const { images } = await pipeline.textToImage({ prompt: 'a red circle', negativePrompt: 'blue', numInferenceSteps: 3, seed: 42, guidanceScale: 5 });
      // PNG is lossless: exact equality.
      expect([written.width, written.height]).toEqual([32, 32]);
      expect(Buffer.from(written.data).equals(Buffer.from(images[0]!.data))).toBe(true);
    } finally {
      await pipeline.dispose();
    }
  });

  it('writes one numbered file per image with --count', async () => {
    const io = capturedIo();
    const out = path.join(scratch(), 'many.png');
    expect(await run(['generate', 'a red circle', '-m', tinySd, '-s', '2', '--seed', '1', '-n', '2', '-o', out, '-q'], io)).toBe(ExitCode.ok);
    expect(io.out()).toBe(`${path.join(scratch(), 'many-1.png')}\n${path.join(scratch(), 'many-2.png')}\n`);
    expect(io.err()).toBe('');
  });

  it('runs img2img, inpaint and denoise on PNG inputs', async () => {
    const image = path.join(scratch(), 'in.png');
    const mask = path.join(scratch(), 'mask.png');
    await writePngFile(image, renderShapeImage({ shape: 'circle', foreground: 'red', background: 'blue', size: 16, width: 32, height: 32 }));
    await writePngFile(mask, renderShapeImage({ shape: 'square', foreground: 'white', background: 'black', size: 12, width: 32, height: 32 }));
    const cases = [
      ['img2img', 'a green square', '--image', image, '--strength', '0.5'],
      ['inpaint', 'a yellow triangle', '--image', image, '--mask', mask],
      ['denoise', '--image', image, '--strength', '0.3'],
    ];
    for (const [command, ...rest] of cases) {
      const out = path.join(scratch(), `${command}.png`);
      const io = capturedIo();
      const code = await run([command!, ...rest, '--model', tinySd, '--steps', '4', '--seed', '3', '--out', out, '--quiet'], io);
      expect({ command, code, err: io.err() }).toEqual({ command, code: ExitCode.ok, err: '' });
      const written = await readImageFile(out, '--out');
      expect([written.width, written.height]).toEqual([32, 32]);
    }
  });

  it('exits 2 when the pipeline rejects an argument (a width the VAE cannot divide)', async () => {
    const io = capturedIo();
    expect(await run(['generate', 'a red circle', '--model', tinySd, '--width', '33', '--out', path.join(scratch(), 'x.png')], io)).toBe(ExitCode.usage);
    expect(io.err()).toMatch(/^latentkit generate: --width: width must be .*33/);
  });

  it('exits 3 naming the folder when the model cannot be loaded', async () => {
    const io = capturedIo();
    expect(await run(['generate', 'a red circle', '--model', path.join(scratch(), 'no-model'), '--out', path.join(scratch(), 'x.png')], io)).toBe(ExitCode.model);
    expect(io.err()).toBe(`latentkit generate: Cannot load ${path.join(scratch(), 'no-model')}: the model folder does not exist\n`);
  });

  it('exits 130 for Ctrl-C after the last step (during the decode), and writes nothing', async () => {
    const controller = new AbortController();
    const io = capturedIo({ signal: controller.signal });
    const write = io.stderr.write;
    (io.stderr as { write: (s: string) => unknown }).write = (s: string) => {
      if (s.startsWith('step 3/3')) controller.abort();
      return write(s);
    };
    const out = path.join(scratch(), 'late.png');
    expect(await run(['generate', 'a red circle', '--model', tinySd, '--steps', '2', '--out', out], io)).toBe(ExitCode.interrupted);
    expect(io.err()).toMatch(/step 3\/3 .*\nlatentkit: interrupted\n$/);
    expect(io.out()).toBe('');
    await expect(readImageFile(out, '--out')).rejects.toThrow('the file does not exist');
  });

  it('exits 130 when interrupted, and writes nothing', async () => {
    const controller = new AbortController();
    const io = capturedIo({ signal: controller.signal });
    const write = io.stderr.write;
    // Ctrl-C as the first step is reported.
    (io.stderr as { write: (s: string) => unknown }).write = (s: string) => {
      if (s.startsWith('step 1/')) controller.abort();
      return write(s);
    };
    const out = path.join(scratch(), 'interrupted.png');
    expect(await run(['generate', 'a red circle', '--model', tinySd, '--steps', '5', '--out', out], io)).toBe(ExitCode.interrupted);
    expect(io.err()).toMatch(/latentkit: interrupted\n$/);
    expect(io.out()).toBe('');
    await expect(readImageFile(out, '--out')).rejects.toThrow('the file does not exist');
  });
});
