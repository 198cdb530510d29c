import { PluginResolutionError } from './errors';
import { type ComponentEntry, type ComponentSource, type Plugin, type PluginV1, type PluginV2, PluginRegistry, createWithPlugin, registry as globalRegistry } from './registry';

const clipEntry: ComponentEntry = { slot: 'text_encoder', library: 'diffusers', className: 'OnnxRuntimeModel' };

function plugin(name: string, overrides: Partial<Plugin> = {}): Plugin {
  return {
    name,
    specificationVersion: 'v1',
    kind: 'text-encoder',
    supports: (entry) => entry.slot === 'text_encoder' || { reason: `slot '${entry.slot}' is not a text encoder` },
    create: () => ({ name }),
    ...overrides,
  };
}

describe('PluginRegistry', () => {
  it('holds v1 and v2 plugins side by side and calls each with its own create() signature', async () => {
    const registry = new PluginRegistry();
    const source: ComponentSource = { modelPath: '/m', componentPath: '/m/text_encoder', entry: clipEntry };
    const tokenizer: PluginV1<{ tokenizer: string }> = {
      name: 'old-tokenizer',
      specificationVersion: 'v1',
      kind: 'tokenizer',
      supports: () => true,
      create: (_source, options) => ({ tokenizer: `v1 with ${JSON.stringify(options)}` }),
    };
    const encoder: PluginV2<{ encoder: string; tokenizer: unknown; signal?: AbortSignal }, { width: number }> = {
      name: 'new-encoder',
      specificationVersion: 'v2',
      kind: 'text-encoder',
      priority: 1,
      supports: (entry) => entry.className === 'OnnxRuntimeModel',
      // A v2 plugin loads its sub-components through the registry it is given.
      async create(given, { options, registry: from, signal }) {
        const sub = await from.create('tokenizer', { ...given, componentPath: '/m/tokenizer' }, { lower: true });
        return { encoder: `v2 ${given.componentPath} width ${options?.width}`, tokenizer: sub, signal };
      },
    };
    const legacy = plugin('legacy-encoder');
    registry.register(tokenizer).register(encoder).register(legacy);
    const controller = new AbortController();
    const created = await registry.create<{ encoder: string; tokenizer: unknown; signal?: AbortSignal }>('text-encoder', source, { width: 768 }, { signal: controller.signal });
    expect(created).toEqual({ encoder: 'v2 /m/text_encoder width 768', tokenizer: { tokenizer: 'v1 with {"lower":true}' }, signal: controller.signal });
    // The v1 plugin is still chosen when hinted, and gets its options as before.
    expect(await registry.create('text-encoder', source, undefined, { hints: ['legacy-encoder'] })).toEqual({ name: 'legacy-encoder' });
    expect(await createWithPlugin(tokenizer, source, { options: 7, registry })).toEqual({ tokenizer: 'v1 with 7' });
  });

  it('registering the same plugin twice is a no-op', () => {
    const registry = new PluginRegistry();
    const p = plugin('clip');
    registry.register(p).register(p);
    expect(registry.list('text-encoder')).toEqual([p]);
  });

  it('a different plugin under a taken name throws', () => {
    const registry = new PluginRegistry();
    registry.register(plugin('clip'));
    expect(() => registry.register(plugin('clip'))).toThrow(
      "A different text-encoder plugin named 'clip' is already registered: give your plugin another name, or unregister('text-encoder', 'clip') first",
    );
    // The same name under another kind is a different plugin.
    expect(() => registry.register(plugin('clip', { kind: 'tokenizer' }))).not.toThrow();
  });

  it('validates plugin objects loudly', () => {
    const registry = new PluginRegistry();
    expect(() => registry.register(plugin('x', { specificationVersion: 'v3' as 'v1' }))).toThrow(
      "plugin 'x'.specificationVersion must be 'v1' | 'v2', got \"v3\"",
    );
    expect(() => registry.register(plugin('', {}))).toThrow('plugin.name must be a non-empty string');
    expect(() => registry.register(plugin('y', { kind: 'vocoder' as 'unet' }))).toThrow("plugin 'y'.kind must be");
  });

  it('resolves hints first, then priority, then registration order', () => {
    const registry = new PluginRegistry();
    const low = plugin('low');
    const high = plugin('high', { priority: 10 });
    const hinted = plugin('hinted');
    registry.register(low).register(high).register(hinted);
    expect(registry.resolve('text-encoder', clipEntry).name).toBe('high');
    expect(registry.resolve('text-encoder', clipEntry, { hints: ['hinted'] }).name).toBe('hinted');
    expect(registry.list('text-encoder').map((p) => p.name)).toEqual(['high', 'low', 'hinted']);
  });

  it('lists every candidate and why it declined when nothing fits', () => {
    const registry = new PluginRegistry();
    registry.register(plugin('clip'));
    registry.register(plugin('picky', { supports: () => false }));
    registry.register(plugin('broken', { supports: () => { throw new Error('boom'); } }));
    const entry: ComponentEntry = { slot: 'unet', library: 'diffusers', className: 'OnnxRuntimeModel' };
    let caught: unknown;
    try {
      registry.resolve('text-encoder', entry, { hints: ['missing'] });
    } catch (error) {
      caught = error;
    }
    expect(PluginResolutionError.isInstance(caught)).toBe(true);
    const message = (caught as Error).message;
    expect(message).toContain(`No plugin can load component 'unet' (["diffusers", "OnnxRuntimeModel"])`);
    expect(message).toContain('- missing: no text-encoder plugin of this name is registered');
    expect(message).toContain("- clip: slot 'unet' is not a text encoder");
    expect(message).toContain('- picky: does not support this entry');
    expect(message).toContain('- broken: supports() threw: boom');
  });

  it('creates components through the resolved plugin', async () => {
    const registry = new PluginRegistry();
    registry.register(plugin('clip'));
    const created = await registry.create('text-encoder', { modelPath: '/m', componentPath: '/m/text_encoder', entry: clipEntry });
    expect(created).toEqual({ name: 'clip' });
  });

  it("hands supports() the component's source when creating, so plugins can tell exports apart by config", async () => {
    const registry = new PluginRegistry();
    const byConfig = (name: string, modelType: string) =>
      plugin(name, { supports: (_entry, source) => source?.config?.model_type === modelType || { reason: `config.model_type is not '${modelType}'` } });
    registry.register(byConfig('clip', 'clip_text_model')).register(byConfig('bert', 'bert'));
    const source = (modelType: string) => ({ modelPath: '/m', componentPath: '/m/text_encoder', entry: clipEntry, config: { model_type: modelType } });
    expect(await registry.create('text-encoder', source('bert'))).toEqual({ name: 'bert' });
    expect(registry.resolve('text-encoder', clipEntry, { source: source('clip_text_model') }).name).toBe('clip');
    expect(() => registry.resolve('text-encoder', clipEntry)).toThrow(/config.model_type is not 'clip_text_model'/);
  });

  it('shares one process-wide registry', () => {
    expect(globalRegistry).toBe((globalThis as unknown as Record<symbol, unknown>)[Symbol.for('latentkit.registry')]);
  });
});
