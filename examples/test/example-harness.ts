/**
 * Runs an example's `main` in-process and returns what it printed; finds the embedded model and
 * the shared reference data, so that each example's test can skip with a clear message when they
 * are absent.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { modelPath } from '@latentkit/model-tiny';
import type { ExampleMain } from '../lib/example-cli';

/** Whether the embedded model's folder is there (it is produced by tools/train-tiny). */
export const embeddedModelPresent = existsSync(path.join(modelPath, 'model_index.json'));

/** `../shared` beside the repository (or `LATENTKIT_SHARED`). */
export const sharedDir = process.env.LATENTKIT_SHARED ?? path.resolve(__dirname, '..', '..', '..', 'shared');

/** The diffusers-made tiny-sd ONNX folder of the shared reference data, or undefined. */
export const tinySdFolder = existsSync(path.join(sharedDir, 'reference', 'tiny-sd', 'onnx', 'model_index.json'))
  ? path.join(sharedDir, 'reference', 'tiny-sd', 'onnx')
  : undefined;

/** `describe` when the embedded model is present; otherwise `describe.skip` with a warning that says why. */
export function describeWithEmbeddedModel(name: string, body: () => void): void {
  if (embeddedModelPresent) {
    describe(name, body);
    return;
  }
  console.warn(`${name}: skipped — the embedded model is absent (${modelPath}/model_index.json); run tools/train-tiny/export.py or install @latentkit/model-tiny`);
  describe.skip(name, body);
}

/** A fresh temporary output folder, so that tests leave nothing in examples/out/. */
export function temporaryOutDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'latentkit-examples-'));
}

/**
 * Runs an example and returns its printed lines.
 *
 * @example
 * ```ts
 * const lines = await runExample(main, ['--steps', '4']);
 * ```
 */
export async function runExample(main: ExampleMain, argv: readonly string[]): Promise<{ text: string; lines: string[] }> {
  let text = '';
  await main([...argv, '--out-dir', temporaryOutDir()], { stdout: { write: (chunk: string) => (text += chunk) } });
  return { text, lines: text.split('\n') };
}

/** The cells of the table row whose first cell is `label` (cells separated by two or more spaces). */
export function tableRow(lines: readonly string[], label: string): string[] {
  const line = lines.find((l) => l.startsWith(`${label}  `) || l === label);
  if (!line) throw new Error(`no table row '${label}' in:\n${lines.join('\n')}`);
  return line.split(/\s{2,}/).map((cell) => cell.trim());
}
