/**
 * The README's main command on the bundled latentkit-tiny model (no --model), in English and
 * through the multilingual text encoder. Skips while the model folder is not there yet.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { modelPath } from '@latentkit/model-tiny';
import { StableDiffusionPipeline } from '@latentkit/pipeline';
import { analyseShapeImage } from '@latentkit/testing';
import { capturedIo } from './__fixtures__/captured-io';
import { scratchFolder } from './__fixtures__/scratch-folder';
import { ExitCode } from './exit-codes';
import { readImageFile } from './png-files';
import { run } from './run';

const present = existsSync(path.join(modelPath, 'model_index.json'));
if (!present) console.warn(`Skipping the CLI's latentkit-tiny tests: ${modelPath} has no model_index.json yet`);

(present ? describe : describe.skip)('latentkit generate with the bundled latentkit-tiny model', () => {
  const scratch = scratchFolder('latentkit-cli-tiny-');

  it('latentkit generate "a red circle on a blue background" --out circle.png writes the default pipeline’s image: a red circle on blue', async () => {
    const out = path.join(scratch(), 'circle.png');
    const io = capturedIo();
    expect(await run(['generate', 'a red circle on a blue background', '--out', out, '--seed', '11', '--steps', '25', '--threads', '1', '-q'], io)).toBe(ExitCode.ok);
    expect(io.out()).toBe(`${out}\n`);
    const written = await readImageFile(out, '--out');
    // The CLI adds nothing of its own: the PNG holds exactly what fromPretrained() with no folder
    // makes for these options and the model's recommended guidance (5, from model_index.json).
    const pipeline = await StableDiffusionPipeline.fromPretrained(undefined, { sessionOptions: { threads: 1 } });
    try {
      const { images } = await pipeline.textToImage({ prompt: 'a red circle on a blue background', seed: 11, numInferenceSteps: 25, guidanceScale: 5 });
      expect([written.width, written.height]).toEqual([64, 64]);
      expect(Buffer.from(written.data).equals(Buffer.from(images[0]!.data))).toBe(true);
    } finally {
      await pipeline.dispose();
    }
    // And it is what the README promises, judged from pixels by the deterministic analyser.
    const analysis = analyseShapeImage(written);
    expect({ clean: analysis.clean, problems: analysis.problems }).toEqual({ clean: true, problems: [] });
    expect([analysis.background, analysis.foreground, analysis.shape]).toEqual(['blue', 'red', 'circle']);
  });

  it('closes the text encoder once the prompt is encoded unless --keep-text-encoder: the same image either way', async () => {
    const args = ['generate', 'a red circle on a blue background', '--seed', '11', '--steps', '4', '--threads', '1', '-q'];
    const [released, kept] = [path.join(scratch(), 'released.png'), path.join(scratch(), 'kept.png')];
    const fromPretrained = jest.spyOn(StableDiffusionPipeline, 'fromPretrained');
    try {
      expect(await run([...args, '--out', released], capturedIo())).toBe(ExitCode.ok);
      expect(await run([...args, '--out', kept, '--keep-text-encoder'], capturedIo())).toBe(ExitCode.ok);
      expect(fromPretrained.mock.calls.map(([, options]) => options?.releaseTextEncoder)).toEqual([true, false]);
    } finally {
      fromPretrained.mockRestore();
    }
    const [a, b] = [await readImageFile(released, '--out'), await readImageFile(kept, '--out')];
    expect(Buffer.from(a.data).equals(Buffer.from(b.data))).toBe(true);
  });

  it('--text-encoder multilingual takes a French prompt', async () => {
    const out = path.join(scratch(), 'cercle.png');
    const io = capturedIo();
    const code = await run(['generate', 'un cercle rouge sur fond bleu', '--text-encoder', 'multilingual', '--out', out, '--seed', '11', '--steps', '25', '--threads', '1', '-q'], io);
    expect({ code, err: io.err() }).toEqual({ code: ExitCode.ok, err: '' });
    const image = await readImageFile(out, '--out');
    expect([image.width, image.height]).toEqual([64, 64]);
  });

  it('inspect lists both text encoders and finds that they fit', async () => {
    const io = capturedIo();
    expect(await run(['inspect', modelPath], io)).toBe(ExitCode.ok);
    expect(io.out()).toMatch(/\ncompatible: text_encoder \+ tokenizer, .*\ncompatible: text_encoder_multilingual \+ tokenizer_multilingual, /);
  });
});
