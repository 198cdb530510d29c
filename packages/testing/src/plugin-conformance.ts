/**
 * The plugin conformance suite: a plugin (specification v1 or v2) is a plain object the registry
 * accepts, registration is idempotent, `supports()` answers clearly, and `create()` makes a v1
 * component.
 */
import assert from 'node:assert/strict';
import { PLUGIN_SPECIFICATION_VERSIONS, PluginRegistry, createWithPlugin, type AnyPlugin, type ComponentEntry, type ComponentSource } from '@latentkit/core';
import { assertEqual } from './tensor-assertions';
import { captureError, describeError, resolveTestRunner, type TestRunner } from './test-runner';

const KINDS = ['text-encoder', 'scheduler', 'unet', 'vae', 'tokenizer'];

/** Options of {@link describePluginConformance}. */
export interface PluginConformanceOptions {
  /** The package's `register(registry)`; checked to add the plugin and to be idempotent. */
  register?: (registry: PluginRegistry) => unknown;
  /** An entry the plugin must accept. */
  supportedEntry?: ComponentEntry;
  /** An entry the plugin must decline, with a reason. */
  unsupportedEntry?: ComponentEntry;
  /** A source `create()` must turn into a component with `specificationVersion: 'v1'`. */
  source?: ComponentSource | (() => ComponentSource | Promise<ComponentSource>);
  /** Options passed to `create()` with `source`. */
  createOptions?: unknown;
  timeout?: number;
  runner?: TestRunner;
}

/**
 * Registers the conformance tests of a plugin object.
 *
 * @example
 * ```ts
 * describePluginConformance(hashingEncoderPlugin, {
 *   register,
 *   supportedEntry: { slot: 'text_encoder', library: 'latentkit-example', className: 'HashingTextEncoder' },
 * });
 * ```
 */
export function describePluginConformance(plugin: AnyPlugin, options: PluginConformanceOptions = {}): void {
  const runner = resolveTestRunner(options.runner);
  const it = (title: string, body: () => unknown) => runner.it(title, body, options.timeout);

  runner.describe(`plugin conformance: ${String(plugin?.name)}`, () => {
    it(`is a plain object with name, specificationVersion ${PLUGIN_SPECIFICATION_VERSIONS.join(' or ')}, kind, supports() and create()`, () => {
      assert.ok(typeof plugin === 'object' && plugin !== null, `a plugin must be an object, got ${typeof plugin}`);
      assert.ok(typeof plugin.name === 'string' && plugin.name.length > 0, `name must be a non-empty string, got ${String(plugin.name)}`);
      const versions: readonly unknown[] = PLUGIN_SPECIFICATION_VERSIONS;
      assert.ok(versions.includes(plugin.specificationVersion), `specificationVersion must be ${PLUGIN_SPECIFICATION_VERSIONS.map((v) => `'${v}'`).join(' or ')}, got ${String(plugin.specificationVersion)}`);
      assert.ok(KINDS.includes(plugin.kind), `kind must be one of ${KINDS.join(', ')}, got ${String(plugin.kind)}`);
      if (plugin.priority !== undefined) assert.ok(Number.isFinite(plugin.priority), `priority must be a finite number, got ${plugin.priority}`);
      assertEqual(typeof plugin.supports, 'function', 'supports must be a function');
      assertEqual(typeof plugin.create, 'function', 'create must be a function');
    });

    it('is accepted by a registry, and registering it twice is a no-op', () => {
      const registry = new PluginRegistry();
      registry.register(plugin).register(plugin);
      assertEqual(registry.get(plugin.kind, plugin.name), plugin, 'the registry must hold the plugin under its kind and name');
      assertEqual(registry.list(plugin.kind).filter((p) => p.name === plugin.name).length, 1, 'the plugin must be registered once');
    });

    if (options.register) {
      const register = options.register;
      it('register(registry) adds it, and calling it twice is harmless', async () => {
        const registry = new PluginRegistry();
        await register(registry);
        const error = await captureError(() => register(registry));
        assertEqual(error, undefined, `a second register() must not throw, got ${describeError(error)}`);
        assertEqual(registry.get(plugin.kind, plugin.name), plugin, `register() must add '${plugin.name}' to the registry it is given`);
        assertEqual(registry.list(plugin.kind).filter((p) => p.name === plugin.name).length, 1, 'the plugin must be registered once');
      });
    }

    it('supports() answers true or a reason, and never throws, for an empty entry', () => {
      const answer = plugin.supports({ slot: 'unknown_slot', library: null, className: null });
      assert.ok(answer === true || answer === false || (typeof answer === 'object' && typeof answer.reason === 'string'), `supports() must answer true, false or { reason }, got ${JSON.stringify(answer)}`);
    });

    if (options.supportedEntry) {
      const entry = options.supportedEntry;
      it(`supports ${JSON.stringify([entry.library, entry.className])} in slot '${entry.slot}'`, () => {
        assertEqual(plugin.supports(entry), true, `supports(${JSON.stringify(entry)}) must be true`);
      });
    }

    if (options.unsupportedEntry) {
      const entry = options.unsupportedEntry;
      it(`declines ${JSON.stringify([entry.library, entry.className])} with a reason`, () => {
        const answer = plugin.supports(entry);
        assert.ok(typeof answer === 'object' && answer !== null && answer.reason.length > 0, `supports(${JSON.stringify(entry)}) must decline with { reason }, got ${JSON.stringify(answer)}`);
      });
    }

    if (options.source) {
      const source = options.source;
      it('supports(source.entry, source) accepts the source it creates from, as the registry asks it', async () => {
        const resolved = typeof source === 'function' ? await source() : source;
        const answer = plugin.supports(resolved.entry, resolved);
        assertEqual(answer, true, `supports(${JSON.stringify(resolved.entry)}, source) must be true for the source given to create(), got ${JSON.stringify(answer)}`);
      });

      it('create(source) makes a component with specificationVersion v1', async () => {
        const resolved = typeof source === 'function' ? await source() : source;
        const registry = new PluginRegistry();
        if (options.register) await options.register(registry);
        const component = (await createWithPlugin(plugin, resolved, { options: options.createOptions, registry })) as { specificationVersion?: unknown; dispose?: () => unknown };
        assert.ok(component && typeof component === 'object', `create() must return a component object, got ${typeof component}`);
        assertEqual(component.specificationVersion, 'v1', `the created component must declare specificationVersion 'v1', got ${String(component.specificationVersion)}`);
        await component.dispose?.();
      });
    }
  });
}
