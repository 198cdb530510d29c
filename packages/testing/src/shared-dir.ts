/**
 * Finding latentkit's shared reference data (`<repo>/../shared`, made by HuggingFace diffusers),
 * so that tests needing it can skip with a clear message where it is absent (a fresh clone).
 */
import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { describeSkipped } from './test-runner';

const ROOT_MARKERS = ['pnpm-workspace.yaml', '.git'];

function isDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The nearest ancestor of `start` (itself included) holding `pnpm-workspace.yaml` or `.git`.
 *
 * @example
 * ```ts
 * findRepositoryRoot('/work/main/packages/cli'); // '/work/main'
 * ```
 */
export function findRepositoryRoot(start: string = process.cwd()): string | undefined {
  let dir = path.resolve(start);
  for (;;) {
    if (ROOT_MARKERS.some((marker) => existsSync(path.join(dir, marker)))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * The shared data folder: `$LATENTKIT_SHARED` when set, else `../shared` beside the repository
 * root found from `start` (default: the working directory); `undefined` when it does not exist.
 *
 * @example
 * ```ts
 * const shared = sharedDir(); // '/work/shared' or undefined
 * ```
 */
export function sharedDir(start?: string): string | undefined {
  const fromEnvironment = process.env.LATENTKIT_SHARED;
  if (fromEnvironment) return isDirectory(fromEnvironment) ? path.resolve(fromEnvironment) : undefined;
  const candidates = [findRepositoryRoot(start), findRepositoryRoot(__dirname)];
  for (const root of candidates) {
    if (root && isDirectory(path.resolve(root, '../shared'))) return path.resolve(root, '../shared');
  }
  return undefined;
}

/**
 * A path inside `<shared>/reference`, or `undefined` when the shared folder or that entry is absent.
 *
 * @example
 * ```ts
 * const tinySd = referencePath('tiny-sd', 'onnx'); // '/work/shared/reference/tiny-sd/onnx'
 * ```
 */
export function referencePath(...segments: string[]): string | undefined {
  const shared = sharedDir();
  if (!shared) return undefined;
  const target = path.join(shared, 'reference', ...segments);
  return existsSync(target) ? target : undefined;
}

/**
 * `describe()` when the reference entry exists, with its absolute path; otherwise a skipped block
 * and a warning naming what is missing and how to provide it.
 *
 * @example
 * ```ts
 * describeWithReference('txt2img on tiny-sd', ['tiny-sd', 'onnx'], (modelDir) => {
 *   it('loads', async () => { await StableDiffusionPipeline.fromPretrained(modelDir); });
 * });
 * ```
 */
export function describeWithReference(name: string, segments: readonly string[], body: (referenceDir: string) => void): void {
  describeWhenPresent(
    'describeWithReference',
    name,
    referencePath(...segments),
    `reference data reference/${segments.join('/')} not found (set LATENTKIT_SHARED to the shared folder, or place it at <repo>/../shared)`,
    body,
  );
}

/**
 * The folder of latentkit-tiny, the project's own trained model (`packages/model-tiny/model` in
 * this repository), when it holds the entry named by `segments` (e.g. `'unet', 'model.onnx'`); else undefined.
 *
 * @example
 * ```ts
 * modelTinyPath('text_encoder', 'model.onnx'); // '/…/latentkit/packages/model-tiny/model', or undefined
 * ```
 */
export function modelTinyPath(...segments: string[]): string | undefined {
  for (const root of [findRepositoryRoot(), findRepositoryRoot(__dirname)]) {
    const model = root && path.join(root, 'packages', 'model-tiny', 'model');
    if (model && existsSync(path.join(model, ...segments))) return model;
  }
  return undefined;
}

/**
 * `describe()` with latentkit-tiny's folder when it holds `segments`; otherwise a skipped block and
 * a warning (the model is trained and committed separately, so a checkout may not have it yet).
 *
 * @example
 * ```ts
 * describeWithModelTiny('the trained multilingual encoder', ['text_encoder_multilingual', 'model.onnx'], (modelDir) => {
 *   it('loads', async () => { await MultilingualTextEncoder.fromPretrained(modelDir); });
 * });
 * ```
 */
export function describeWithModelTiny(name: string, segments: readonly string[], body: (modelDir: string) => void): void {
  describeWhenPresent(
    'describeWithModelTiny',
    name,
    modelTinyPath(...segments),
    `latentkit-tiny's ${segments.join('/')} is absent (packages/model-tiny/model, not trained yet)`,
    body,
  );
}

function describeWhenPresent(caller: string, name: string, target: string | undefined, missing: string, body: (dir: string) => void): void {
  if (target) {
    const globals = globalThis as { describe?: (name: string, body: () => void) => void };
    if (typeof globals.describe !== 'function') throw new Error(`${caller}() must be called from a test file (no global describe)`);
    globals.describe(name, () => body(target));
    return;
  }
  describeSkipped(missing, name);
}
