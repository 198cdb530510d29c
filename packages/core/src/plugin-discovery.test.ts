import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LatentkitError } from './errors';
import { discoverPlugins } from './plugin-discovery';
import { PluginRegistry } from './registry';

/** A project folder with a package.json and installed packages (name → package.json fields and index.js source). */
function project(dependencies: Record<string, { manifest: Record<string, unknown>; files?: Record<string, string> } | null>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'latentkit-discovery-'));
  writeFileSync(path.join(root, 'package.json'), JSON.stringify({ name: 'app', dependencies: Object.fromEntries(Object.keys(dependencies).map((name) => [name, '*'])) }));
  for (const [name, pkg] of Object.entries(dependencies)) {
    if (!pkg) continue; // listed but not installed
    const dir = path.join(root, 'node_modules', name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, main: 'index.js', ...pkg.manifest }));
    for (const [file, source] of Object.entries(pkg.files ?? {})) writeFileSync(path.join(dir, file), source);
  }
  return root;
}

const pluginSource = (name: string, exportAs: 'register' | 'plugins') => {
  const plugin = `{ name: '${name}', specificationVersion: 'v1', kind: 'text-encoder', supports: () => true, create: () => ({}) }`;
  return exportAs === 'register' ? `const p = ${plugin}; exports.register = (registry) => registry.register(p);` : `exports.plugins = [${plugin}];`;
};

describe('discoverPlugins', () => {
  const roots: string[] = [];
  afterAll(() => roots.forEach((root) => rmSync(root, { recursive: true, force: true })));

  it('registers dependencies marked by the keyword or a latentkit field, skips others and missing ones', () => {
    const root = project({
      'latentkit-encoder-a': { manifest: { keywords: ['latentkit-plugin'] }, files: { 'index.js': pluginSource('a', 'register') } },
      '@scope/encoder-b': { manifest: { latentkit: { entry: 'plugins.js' } }, files: { 'plugins.js': pluginSource('b', 'plugins') } },
      'left-pad': { manifest: { keywords: ['latentkit'] }, files: { 'index.js': 'throw new Error("must not load")' } },
      'not-installed': null,
    });
    roots.push(root);
    const registry = new PluginRegistry();
    const found = discoverPlugins({ from: path.join(root), registry });
    expect(found.map((pkg) => [pkg.name, pkg.plugins])).toEqual([
      ['@scope/encoder-b', ['text-encoder:b']],
      ['latentkit-encoder-a', ['text-encoder:a']],
    ]);
    expect(registry.list('text-encoder').map((plugin) => plugin.name)).toEqual(['b', 'a']);
  });

  it('says which plugin package failed to load or exports nothing to register', () => {
    const root = project({
      broken: { manifest: { keywords: ['latentkit-plugin'] }, files: { 'index.js': 'throw new Error("boom")' } },
    });
    const empty = project({ empty: { manifest: { keywords: ['latentkit-plugin'] }, files: { 'index.js': 'exports.x = 1;' } } });
    roots.push(root, empty);
    expect(() => discoverPlugins({ from: root, registry: new PluginRegistry() })).toThrow(/The latentkit plugin package 'broken' \(.*\) failed to load: boom/);
    expect(() => discoverPlugins({ from: empty, registry: new PluginRegistry() })).toThrow(LatentkitError);
    expect(() => discoverPlugins({ from: empty, registry: new PluginRegistry() })).toThrow(/exports neither register\(registry\) nor a plugins array/);
    expect(() => discoverPlugins({ from: '' })).toThrow(/from must be a folder of the project/);
  });
});
