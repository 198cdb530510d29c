/**
 * CLIP or not CLIP is the registry's choice: both encoder plugins are registered (found by
 * discovery in `fromPretrained()`), each says what it claims in `supports()`, and priority orders
 * the claims — neither plugin names the other.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PluginRegistry, readModelFolder } from '@latentkit/core';
import { register as registerClip } from '@latentkit/encoder-clip';
import { MultilingualTextEncoder, register as registerMultilingual } from '@latentkit/encoder-multilingual';
import { modelPath } from '@latentkit/model-tiny';

const tiny = fs.existsSync(path.join(modelPath, 'model_index.json')) ? modelPath : undefined;
if (!tiny) console.warn(`Skipping the encoder choice on files: ${modelPath} has no model yet`);
const entry = (slot: string) => ({ slot, library: 'diffusers', className: 'OnnxRuntimeModel' });

describe('CLIP and non-CLIP encoders, decided by supports() and priority', () => {
  // Either registration order gives the same choices.
  const registries = () => [registerMultilingual(registerClip(new PluginRegistry())), registerClip(registerMultilingual(new PluginRegistry()))];

  it('CLIP for text_encoder, multilingual for text_encoder_multilingual and its tokenizer', () => {
    for (const registry of registries()) {
      expect(registry.resolve('text-encoder', entry('text_encoder')).name).toBe('clip-text-encoder');
      expect(registry.resolve('text-encoder', entry('text_encoder_multilingual')).name).toBe('multilingual-text-encoder');
      expect(registry.resolve('tokenizer', { slot: 'tokenizer_multilingual', library: 'tokenizers', className: 'PreTrainedTokenizerFast' }).name).toBe('multilingual-tokenizer');
      expect(registry.resolve('tokenizer', { slot: 'tokenizer', library: 'transformers', className: 'CLIPTokenizer' }).name).toBe('clip-tokenizer');
    }
  });

  (tiny ? it : it.skip)('an ONNX text_encoder slot whose config.json is not CLIP goes to the multilingual plugin, without hints', async () => {
    // AltDiffusion / Taiyi converted to ONNX: ["diffusers", "OnnxRuntimeModel"] in the default slots.
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'latentkit-bert-onnx-'));
    try {
      fs.writeFileSync(
        path.join(folder, 'model_index.json'),
        JSON.stringify({ _class_name: 'OnnxStableDiffusionPipeline', text_encoder: ['diffusers', 'OnnxRuntimeModel'], tokenizer: ['tokenizers', 'PreTrainedTokenizerFast'] }),
      );
      fs.symlinkSync(path.join(tiny!, 'text_encoder_multilingual'), path.join(folder, 'text_encoder'));
      fs.symlinkSync(path.join(tiny!, 'tokenizer_multilingual'), path.join(folder, 'tokenizer'));
      const source = (await readModelFolder(folder)).components.get('text_encoder')!;
      expect(source.config?.model_type).toBe('bert');
      for (const registry of registries()) {
        expect(registry.resolve('text-encoder', source.entry).name).toBe('clip-text-encoder'); // the class alone says nothing more
        expect(registry.resolve('text-encoder', source.entry, { source }).name).toBe('multilingual-text-encoder');
      }
      const encoder = await registries()[0]!.create<MultilingualTextEncoder>('text-encoder', source, { sessionOptions: { threads: 1 } });
      expect(encoder).toBeInstanceOf(MultilingualTextEncoder);
      await encoder.dispose();
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });
});
