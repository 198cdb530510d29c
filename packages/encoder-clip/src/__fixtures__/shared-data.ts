/** Test helper: where the shared reference data lives, and a way to skip when it is absent. */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { describeSkipped } from '@latentkit/testing';

const repoRoot = path.resolve(__dirname, '../../../..');

/** `$LATENTKIT_SHARED` or `<repo>/../shared`. */
export const sharedDir = process.env.LATENTKIT_SHARED ?? path.resolve(repoRoot, '../shared');

/**
 * `describe`, or @latentkit/testing's `describeSkipped` naming the missing path: a skipped block
 * whose body is not run (these bodies read the shared files at the top).
 */
export function describeWithShared(what: string, relative: string): jest.Describe {
  const full = path.join(sharedDir, relative);
  if (existsSync(full)) return describe;
  const reason = `${what} needs ${full}, which is absent (set LATENTKIT_SHARED to the shared data folder)`;
  return ((name: string) => describeSkipped(reason, name)) as unknown as jest.Describe;
}

/** The path of a file in the shared folder. */
export function sharedPath(relative: string): string {
  return path.join(sharedDir, relative);
}
