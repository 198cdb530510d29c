import { PluginRegistry, type Plugin, type TextEncoder } from '@latentkit/core';
import { bagOfWordsEncoder } from './__fixtures__/bag-of-words-encoder';
import { collectingRunner, failureOf } from './__fixtures__/collecting-runner';
import { describePluginConformance } from './plugin-conformance';

const plugin: Plugin<TextEncoder> = {
  name: 'bag-of-words',
  specificationVersion: 'v1',
  kind: 'text-encoder',
  supports: (entry) => entry.className === 'BagOfWords' || { reason: `only BagOfWords, not ${String(entry.className)}` },
  create: () => bagOfWordsEncoder(),
};
const register = (registry: PluginRegistry) => registry.register(plugin);

describePluginConformance(plugin, {
  register,
  supportedEntry: { slot: 'text_encoder', library: 'test', className: 'BagOfWords' },
  unsupportedEntry: { slot: 'text_encoder', library: 'transformers', className: 'CLIPTextModel' },
  source: { modelPath: '/m', componentPath: '/m/text_encoder', entry: { slot: 'text_encoder', library: 'test', className: 'BagOfWords' } },
});

describe('describePluginConformance catches broken plugins', () => {
  it('reports a register() that forgets the registry it is given', async () => {
    const runner = collectingRunner();
    const elsewhere = new PluginRegistry();
    describePluginConformance(plugin, { runner, register: () => elsewhere.register(plugin) });
    const failures = await runner.run();
    expect(failureOf(failures, 'register(registry)')?.message).toBe("register() must add 'bag-of-words' to the registry it is given");
  });

  it('reports a plugin of a future specification version', async () => {
    const runner = collectingRunner();
    describePluginConformance({ ...plugin, specificationVersion: 'v3' as never }, { runner });
    const failures = await runner.run();
    expect(failureOf(failures, 'plain object')?.message).toBe("specificationVersion must be 'v1' or 'v2', got v3");
    expect(failureOf(failures, 'accepted by a registry')?.message).toMatch(/specificationVersion must be 'v1' \| 'v2', got "v3"/);
  });

  it('reports a supports() that declines without a reason', async () => {
    const runner = collectingRunner();
    describePluginConformance({ ...plugin, supports: (entry) => entry.className === 'BagOfWords' }, {
      runner,
      unsupportedEntry: { slot: 'text_encoder', library: null, className: 'Other' },
    });
    const failures = await runner.run();
    expect(failureOf(failures, 'declines')?.message).toBe('supports({"slot":"text_encoder","library":null,"className":"Other"}) must decline with { reason }, got false');
  });
});
