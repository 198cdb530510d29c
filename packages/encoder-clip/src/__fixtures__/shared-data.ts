/** Test helper: where the shared reference data lives, and a way to skip when it is absent. */
import { existsSync } from 'node:fs';
import * as path from 'node:path';

const repoRoot = path.resolve(__dirname, '../../../..');

/** `$LATENTKIT_SHARED` or `<repo>/../shared`. */
export const sharedDir = process.env.LATENTKIT_SHARED ?? path.resolve(repoRoot, '../shared');

/**
 * `describe`, or, with a warning naming the missing path, a skipped block holding one skipped test
 * that names it. The block's own body is not run: jest runs a `describe.skip` body to collect its
 * tests, and these bodies read the shared files at the top.
 */
export function describeWithShared(what: string, relative: string): jest.Describe {
  const full = path.join(sharedDir, relative);
  if (existsSync(full)) return describe;
  const reason = `${full} is absent (set LATENTKIT_SHARED to the shared data folder)`;
  console.warn(`Skipping "${what}": ${reason}.`);
  const skipped = (name: string) => describe.skip(name, () => it.skip(reason, () => undefined));
  return skipped as unknown as jest.Describe;
}

/** The path of a file in the shared folder. */
export function sharedPath(relative: string): string {
  return path.join(sharedDir, relative);
}
