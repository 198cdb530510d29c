import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { findRepositoryRoot, modelTinyPath, referencePath, sharedDir } from './shared-dir';

describe('sharedDir', () => {
  const saved = process.env.LATENTKIT_SHARED;
  let scratch: string;
  beforeEach(() => {
    scratch = mkdtempSync(path.join(tmpdir(), 'latentkit-shared-'));
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.LATENTKIT_SHARED;
    else process.env.LATENTKIT_SHARED = saved;
    rmSync(scratch, { recursive: true, force: true });
  });

  it('prefers $LATENTKIT_SHARED, and is undefined when that folder does not exist', () => {
    mkdirSync(path.join(scratch, 'reference', 'tiny-sd'), { recursive: true });
    process.env.LATENTKIT_SHARED = scratch;
    expect(sharedDir()).toBe(scratch);
    expect(referencePath('tiny-sd')).toBe(path.join(scratch, 'reference', 'tiny-sd'));
    expect(referencePath('missing')).toBeUndefined();
    process.env.LATENTKIT_SHARED = path.join(scratch, 'nope');
    expect(sharedDir()).toBeUndefined();
    expect(referencePath('tiny-sd')).toBeUndefined();
  });

  it('finds ../shared beside the repository root', () => {
    delete process.env.LATENTKIT_SHARED;
    const repo = path.join(scratch, 'repo');
    mkdirSync(path.join(repo, 'packages', 'x'), { recursive: true });
    writeFileSync(path.join(repo, 'pnpm-workspace.yaml'), 'packages: []\n');
    expect(findRepositoryRoot(path.join(repo, 'packages', 'x'))).toBe(repo);
    mkdirSync(path.join(scratch, 'shared'));
    expect(sharedDir(path.join(repo, 'packages', 'x'))).toBe(path.join(scratch, 'shared'));
  });
});

describe('modelTinyPath', () => {
  it("is latentkit-tiny's folder in this repository when it holds the entry, else undefined", () => {
    const model = path.join(findRepositoryRoot(__dirname)!, 'packages', 'model-tiny', 'model');
    expect(modelTinyPath()).toBe(model);
    expect(modelTinyPath('no-such-part', 'model.onnx')).toBeUndefined();
  });
});
