/** A temporary folder for the tests of a describe block (or a file, at top level). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/**
 * Makes a folder under the system's temporary directory before the block's tests and removes it,
 * with everything in it, after them. Returns the folder's path; call it inside hooks and tests.
 */
export function scratchFolder(prefix: string): () => string {
  let folder: string | undefined;
  beforeAll(() => {
    folder = mkdtempSync(path.join(tmpdir(), prefix));
  });
  afterAll(() => {
    if (folder) rmSync(folder, { recursive: true, force: true });
  });
  return () => {
    if (folder === undefined) throw new Error(`the scratch folder '${prefix}…' is made in beforeAll: use it inside a hook or a test`);
    return folder;
  };
}
