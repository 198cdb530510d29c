/** Test helper: where the shared reference data lives, and a way to skip when it is absent. */
import { existsSync } from 'node:fs';
import * as path from 'node:path';

const repoRoot = path.resolve(__dirname, '../../../..');

/** `$LATENTKIT_SHARED` or `<repo>/../shared`. */
export const sharedDir = process.env.LATENTKIT_SHARED ?? path.resolve(repoRoot, '../shared');

/** `describe`, or `describe.skip` with a warning naming the missing path. */
export function describeWithShared(what: string, relative: string): jest.Describe {
  const full = path.join(sharedDir, relative);
  if (existsSync(full)) return describe;
  console.warn(`Skipping "${what}": ${full} is absent (set LATENTKIT_SHARED to the shared data folder).`);
  return describe.skip;
}

/** The path of a file in the shared folder. */
export function sharedPath(relative: string): string {
  return path.join(sharedDir, relative);
}
