/**
 * A third-party encoder plugin loads exactly as the first-party ones: this project lists
 * `@latentkit-example/encoder-plugin-hashing` beside `@latentkit/encoder-clip` and
 * `@latentkit/encoder-multilingual` in its package.json, all carry the `latentkit-plugin` keyword,
 * and `fromPretrained()` registers them by discovery — nothing here calls a `register()`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PluginRegistry, discoverPlugins } from '@latentkit/core';
import { StableDiffusionPipeline } from '@latentkit/pipeline';
import { describeWithReference } from '@latentkit/testing';
import { folderWithHashingEncoder } from '../encoder-plugin/src/__fixtures__/hashing-model-folder';

const examplesDir = path.resolve(__dirname, '..');

describe('plugin discovery from this project', () => {
  it('finds the third-party hashing encoder and the first-party plugin packages alike', () => {
    const registry = new PluginRegistry();
    const found = discoverPlugins({ from: examplesDir, registry });
    const byName = new Map(found.map((pkg) => [pkg.name, pkg.plugins]));
    expect(byName.get('@latentkit-example/encoder-plugin-hashing')).toEqual(['text-encoder:hashing-text-encoder']);
    expect(byName.get('@latentkit/encoder-clip')).toEqual(['text-encoder:clip-text-encoder', 'tokenizer:clip-tokenizer']);
    expect(byName.get('@latentkit/encoder-multilingual')).toEqual(['text-encoder:multilingual-text-encoder', 'tokenizer:multilingual-tokenizer']);
    expect([...byName.keys()]).toEqual(expect.arrayContaining(['@latentkit/unet', '@latentkit/vae', '@latentkit/schedulers']));
    expect(byName.has('@latentkit/pipeline')).toBe(false); // no keyword: not a plugin package
    // A project is searched once per registry.
    expect(discoverPlugins({ from: examplesDir, registry })).toBe(found);
  });
});

describeWithReference('fromPretrained() finds an installed third-party encoder plugin', ['tiny-sd', 'onnx'], (tinySd) => {
  let scratch: string;
  beforeAll(() => void (scratch = mkdtempSync(path.join(tmpdir(), 'latentkit-discovery-'))));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('loads a HashingTextEncoder slot with a fresh registry and no register() call', async () => {
    const folder = folderWithHashingEncoder(scratch, tinySd, 'hashing', 32);
    const registry = new PluginRegistry();
    const pipeline = await StableDiffusionPipeline.fromPretrained(folder, { registry, pluginSearch: [examplesDir], sessionOptions: { threads: 1 } });
    try {
      expect(pipeline.textEncoder?.name).toBe('hashing');
      expect(registry.get('text-encoder', 'hashing-text-encoder')).toBeDefined();
    } finally {
      await pipeline.dispose();
    }
    // Without searching this project, only the pipeline's own dependencies are there: the slot has no plugin.
    await expect(StableDiffusionPipeline.fromPretrained(folder, { registry: new PluginRegistry(), pluginSearch: [], sessionOptions: { threads: 1 } })).rejects.toThrow(
      /HashingTextEncoder/,
    );
  });
});
