import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  ComponentMismatchError,
  IncompatibleComponentsError,
  ModelLoadError,
  PluginRegistry,
  readJsonObject,
  readModelFolder,
  registry as defaultRegistry,
  type TextEncoder,
} from '@latentkit/core';
import { assertCompatible, checkCompatibility } from '@latentkit/pipeline';
import { describePluginConformance, describeWithReference } from '@latentkit/testing';
import { HASHING_TEXT_ENCODER_CLASS, hashingEncoderPlugin, register } from './hashing-encoder-plugin';
import { createHashingTextEncoder } from './hashing-text-encoder';

const entry = { slot: 'text_encoder', library: 'latentkit-example', className: HASHING_TEXT_ENCODER_CLASS };

/** A model folder whose text encoder is a hashing encoder of the given width. */
function writeModelFolder(root: string, config: Record<string, unknown>): string {
  const folder = path.join(root, 'model');
  mkdirSync(path.join(folder, 'text_encoder'), { recursive: true });
  writeFileSync(path.join(folder, 'model_index.json'), JSON.stringify({ _class_name: 'StableDiffusionPipeline', text_encoder: ['latentkit-example', HASHING_TEXT_ENCODER_CLASS] }));
  writeFileSync(path.join(folder, 'text_encoder', 'config.json'), JSON.stringify(config));
  return folder;
}

describePluginConformance(hashingEncoderPlugin, {
  register,
  supportedEntry: entry,
  unsupportedEntry: { slot: 'text_encoder', library: 'transformers', className: 'CLIPTextModel' },
  source: { modelPath: '/unused', componentPath: '/unused/text_encoder', entry, config: { hidden_size: 64, max_position_embeddings: 16 } },
});

describe('hashingEncoderPlugin', () => {
  let scratch: string;
  beforeAll(() => {
    scratch = mkdtempSync(path.join(tmpdir(), 'latentkit-hashing-'));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('registers itself in the process-wide registry, idempotently', () => {
    register();
    register();
    expect(defaultRegistry.get('text-encoder', 'hashing-text-encoder')).toBe(hashingEncoderPlugin);
    expect(defaultRegistry.list('text-encoder').filter((p) => p === hashingEncoderPlugin)).toHaveLength(1);
  });

  it('is found by the registry for its model_index.json entry and loads the folder’s dimensions', async () => {
    const folder = writeModelFolder(scratch, { hidden_size: 64, max_position_embeddings: 16, seed: 3 });
    const model = await readModelFolder(folder);
    const source = model.components.get('text_encoder')!;
    const registry = register(new PluginRegistry());
    const encoder = await registry.create<TextEncoder>('text-encoder', source);
    expect([encoder.name, encoder.hiddenSize, encoder.maxLength]).toEqual(['hashing', 64, 16]);
    const expected = await createHashingTextEncoder({ hiddenSize: 64, maxLength: 16, seed: 3 }).encode(['a red circle']);
    expect(Array.from((await encoder.encode(['a red circle'])).hiddenStates.data)).toEqual(Array.from(expected.hiddenStates.data));
  });

  it('reports a bad config with the file and the JSON path', async () => {
    const folder = writeModelFolder(path.join(scratch, 'bad'), { hidden_size: -1, max_position_embeddings: 16 });
    const source = (await readModelFolder(folder)).components.get('text_encoder')!;
    const error = await Promise.resolve(hashingEncoderPlugin.create(source)).catch((e: unknown) => e);
    expect(ModelLoadError.isInstance(error)).toBe(true);
    expect((error as Error).message).toBe(`Cannot load ${path.join(folder, 'text_encoder', 'config.json')}: $.hidden_size must be a positive integer, found -1`);
  });
});

describe('the orchestrator rejects a hashing encoder whose width does not fit the UNet', () => {
  const message =
    "text encoder 'hashing' produces 64-wide embeddings but the UNet's cross-attention expects 32: " +
    "the width must equal the UNet's cross_attention_dim, and the embeddings must live in the space the UNet was trained on: " +
    'use a text encoder trained for this UNet, or add a projection (64 → 32) trained against the frozen UNet';

  describeWithReference("with tiny-sd's declared UNet dimensions", ['tiny-sd', 'onnx', 'unet', 'config.json'], (configFile) => {
    it('checkCompatibility() reports one width mismatch, and assertCompatible() throws it', async () => {
      // The UNet is described by its config alone: no weights are loaded.
      const config = await readJsonObject(configFile);
      const unet = { inChannels: config.in_channels as number, outChannels: config.out_channels as number, crossAttentionDim: config.cross_attention_dim as number };
      expect(unet).toEqual({ inChannels: 4, outChannels: 4, crossAttentionDim: 32 });
      const encoder = createHashingTextEncoder({ hiddenSize: 64, maxLength: 77 });

      const problems = checkCompatibility({ textEncoders: [encoder], unet });
      expect(problems).toHaveLength(1);
      expect(ComponentMismatchError.isInstance(problems[0])).toBe(true);
      expect(problems[0]).toMatchObject({ component: "text encoder 'hashing'", field: 'hiddenSize', expected: 32, actual: 64 });
      expect(problems[0]!.message).toBe(message);

      let thrown: unknown;
      try {
        assertCompatible({ textEncoders: [encoder], unet });
      } catch (error) {
        thrown = error;
      }
      expect(IncompatibleComponentsError.isInstance(thrown)).toBe(true);
      expect((thrown as Error).message).toBe(`The pipeline's components do not fit together (1 problem):\n  1. ${message}`);

      // The same encoder at the UNet's width fits.
      expect(checkCompatibility({ textEncoders: [createHashingTextEncoder({ hiddenSize: 32 })], unet })).toEqual([]);
    });
  });
});
