/** A model folder for the hashing encoder: tiny-sd's UNet, VAE and scheduler, linked, with a hashing text encoder. */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { HASHING_TEXT_ENCODER_CLASS } from '../hashing-encoder-plugin';

/**
 * Writes `<scratch>/<name>`: tiny-sd's UNet, VAE and scheduler (linked, not copied) with a hashing
 * text encoder of the given width, and returns its path.
 */
export function folderWithHashingEncoder(scratch: string, tinySd: string, name: string, hiddenSize: number): string {
  const folder = path.join(scratch, name);
  mkdirSync(path.join(folder, 'text_encoder'), { recursive: true });
  for (const slot of ['unet', 'vae_decoder', 'vae_encoder', 'scheduler']) symlinkSync(path.join(tinySd, slot), path.join(folder, slot), 'dir');
  writeFileSync(
    path.join(folder, 'model_index.json'),
    JSON.stringify({
      _class_name: 'OnnxStableDiffusionPipeline',
      scheduler: ['diffusers', 'PNDMScheduler'],
      text_encoder: ['latentkit-example', HASHING_TEXT_ENCODER_CLASS],
      unet: ['diffusers', 'OnnxRuntimeModel'],
      vae_decoder: ['diffusers', 'OnnxRuntimeModel'],
      vae_encoder: ['diffusers', 'OnnxRuntimeModel'],
    }),
  );
  writeFileSync(path.join(folder, 'text_encoder', 'config.json'), JSON.stringify({ hidden_size: hiddenSize, max_position_embeddings: 77 }));
  return folder;
}
