// Locates the diffusers reference data (/work/shared/reference): LATENTKIT_SHARED, else
// `<repo root>/../shared`. Tests skip with a clear message when it is absent.
import fs from 'node:fs';
import path from 'node:path';

export const sharedDirectory = process.env.LATENTKIT_SHARED ?? path.resolve(__dirname, '../../..', '../shared');

/** The parsed JSON at `reference/<relative>`, or undefined (with a warning) when absent. */
export function readReference<T>(relative: string): T | undefined {
  const file = path.join(sharedDirectory, 'reference', relative);
  if (!fs.existsSync(file)) {
    console.warn(`skipping: reference data ${file} is absent (set LATENTKIT_SHARED to the shared folder)`);
    return undefined;
  }
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}
