/**
 * The plugin inside the real orchestrator: `StableDiffusionPipeline.fromPretrained()` finds it
 * through the registry for a model folder whose text encoder is a `HashingTextEncoder`, rejects it
 * when its width does not fit the UNet, and generates with it when it does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { IncompatibleComponentsError } from '@latentkit/core';
import { StableDiffusionPipeline } from '@latentkit/pipeline';
import { describeWithReference } from '@latentkit/testing';
import { folderWithHashingEncoder as hashingModelFolder } from './__fixtures__/hashing-model-folder';
import { register } from './hashing-encoder-plugin';

describeWithReference('fromPretrained() with the hashing encoder in tiny-sd', ['tiny-sd', 'onnx'], (tinySd) => {
  let scratch: string;
  beforeAll(() => {
    scratch = mkdtempSync(path.join(tmpdir(), 'latentkit-hashing-pipeline-'));
    register();
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  const folderWithHashingEncoder = (name: string, hiddenSize: number) => hashingModelFolder(scratch, tinySd, name, hiddenSize);

  it('rejects a 64-wide hashing encoder against the 32-wide UNet before any session opens, with both widths in the message', async () => {
    const error = await StableDiffusionPipeline.fromPretrained(folderWithHashingEncoder('wide', 64)).catch((e: unknown) => e);
    expect(IncompatibleComponentsError.isInstance(error)).toBe(true);
    expect((error as Error).message).toBe(
      "The pipeline's components do not fit together (1 problem):\n" +
        // Refused from the folder's declared dimensions, before the plugin creates the encoder: so the
        // component is named by its slot in model_index.json.
        "  1. text encoder 'text_encoder' produces 64-wide embeddings but the UNet's cross-attention expects 32: " +
        "the width must equal the UNet's cross_attention_dim, and the embeddings must live in the space the UNet was trained on: " +
        'use a text encoder trained for this UNet, or add a projection (64 → 32) trained against the frozen UNet',
    );
  });

  it('loads a 32-wide hashing encoder and generates a 32×32 image with it', async () => {
    const pipeline = await StableDiffusionPipeline.fromPretrained(folderWithHashingEncoder('fitting', 32));
    try {
      expect(pipeline.textEncoder?.name).toBe('hashing');
      const { images } = await pipeline.textToImage({ prompt: 'a red circle', numInferenceSteps: 2, seed: 0 });
      expect([images[0]!.width, images[0]!.height, images[0]!.data.length]).toEqual([32, 32, 32 * 32 * 3]);
    } finally {
      await pipeline.dispose();
    }
  });
});
