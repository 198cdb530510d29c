/**
 * `latentkit generate … --attention-maps <dir>`: one heatmap PNG per prompt token, showing where
 * in the image that token's cross-attention went (averaged over heads, layers, levels and steps),
 * laid over the generated image. Needs the UNet's native attention backend, where attention runs
 * outside onnxruntime and an attention processor can capture it.
 */
import * as path from 'node:path';
import type { StableDiffusionPipeline } from '@latentkit/pipeline';
import type { CrossAttentionMaps, TokenAttentionMaps } from '@latentkit/unet';
import { writePngFile, type PixelImage } from './png-files';
import { UsageError } from './usage-error';

/** The UNet surface the recorder uses (an `OnnxUNet` with attention: 'native'). */
interface ProcessorUNet {
  readonly attentionBackend?: string;
  setAttentionProcessor?(processor: CrossAttentionMaps | undefined): void;
}

/** Captures while the pipeline runs; `write` renders the heatmaps afterwards. */
export interface AttentionMapRecorder {
  /** Writes `NN-<token>.png` per prompt token into the folder; returns the files written. */
  write(image: PixelImage): Promise<string[]>;
}

/**
 * Starts capturing cross-attention on the pipeline's UNet. Throws a `UsageError` when the UNet
 * runs attention inside onnxruntime (`LATENTKIT_NATIVE=0`, no addon, or an unrecognised graph).
 *
 * @example
 * ```ts
 * const recorder = recordAttentionMaps(pipeline, 'maps', 'a red circle');
 * const { images } = await pipeline.textToImage({ prompt: 'a red circle' });
 * await recorder.write(images[0]);
 * ```
 */
export function recordAttentionMaps(pipeline: StableDiffusionPipeline, folder: string, prompt: string): AttentionMapRecorder {
  const unet = pipeline.unet as ProcessorUNet;
  if (typeof unet.setAttentionProcessor !== 'function' || unet.attentionBackend !== 'native') {
    throw new UsageError(
      `--attention-maps needs the UNet's native attention backend, but this UNet runs attention inside onnxruntime (backend: ${unet.attentionBackend ?? 'unknown'}): ` +
        'build @latentkit/native (and do not set LATENTKIT_NATIVE=0); models whose attention latentkit does not recognise cannot show maps',
      'generate',
    );
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { CrossAttentionMaps: Maps } = require('@latentkit/unet') as typeof import('@latentkit/unet');
  const maps = new Maps();
  unet.setAttentionProcessor(maps);
  return {
    async write(image) {
      unet.setAttentionProcessor!(undefined);
      const combined = maps.combined(image.width / image.height);
      if (combined === undefined) return [];
      const labels = tokenLabels(pipeline, prompt, combined.tokens);
      const files: string[] = [];
      for (const [token, label] of labels.entries()) {
        const file = path.join(folder, `${String(token).padStart(2, '0')}-${label}.png`);
        await writePngFile(file, heatmapOver(image, combined, token));
        files.push(file);
      }
      return files;
    },
  };
}

/**
 * A file-name label for each prompt token, from the start token to the end token: the word a
 * token belongs to (each word is tokenized alone to find how many tokens it spans).
 */
export function tokenLabels(pipeline: StableDiffusionPipeline, prompt: string, tokens: number): string[] {
  const tokenizer = pipeline.textEncoder?.tokenizer;
  const labels = ['start'];
  if (tokenizer === undefined) return labels;
  for (const word of prompt.split(/\s+/).filter((w) => w.length > 0)) {
    const count = Math.max(0, tokenizer.tokenize(word, { padding: false }).ids.length - 2);
    const safe = word.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '') || 'token';
    for (let i = 0; i < count; i++) labels.push(safe);
  }
  labels.push('end');
  return labels.slice(0, tokens);
}

/**
 * The image in grey with token `token`'s map over it in a heat colour scale (black → red →
 * yellow → white), the map bilinearly upsampled and stretched from its own minimum (black) to its
 * maximum (white), so that each token's map shows where it looks most and least.
 */
export function heatmapOver(image: PixelImage, maps: TokenAttentionMaps, token: number): PixelImage {
  const { width, height, data, channels } = image;
  const plane = maps.height * maps.width;
  const map = maps.data.subarray(token * plane, (token + 1) * plane);
  let maximum = -Infinity;
  let minimum = Infinity;
  for (const value of map) {
    maximum = Math.max(maximum, value);
    minimum = Math.min(minimum, value);
  }
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(maps.height - 1, Math.max(0, ((y + 0.5) * maps.height) / height - 0.5));
    const y0 = Math.floor(sy);
    const y1 = Math.min(maps.height - 1, y0 + 1);
    const fy = sy - y0;
    for (let x = 0; x < width; x++) {
      const sx = Math.min(maps.width - 1, Math.max(0, ((x + 0.5) * maps.width) / width - 0.5));
      const x0 = Math.floor(sx);
      const x1 = Math.min(maps.width - 1, x0 + 1);
      const fx = sx - x0;
      const value =
        (map[y0 * maps.width + x0]! * (1 - fx) + map[y0 * maps.width + x1]! * fx) * (1 - fy) +
        (map[y1 * maps.width + x0]! * (1 - fx) + map[y1 * maps.width + x1]! * fx) * fy;
      const heat = maximum > minimum ? (value - minimum) / (maximum - minimum) : 0;
      const pixel = (y * width + x) * channels;
      const grey = channels === 1 ? data[pixel]! : (data[pixel]! * 0.299 + data[pixel + 1]! * 0.587 + data[pixel + 2]! * 0.114);
      const colour = [Math.min(1, heat * 3), Math.min(1, Math.max(0, heat * 3 - 1)), Math.max(0, heat * 3 - 2)];
      for (let c = 0; c < 3; c++) out[(y * width + x) * 3 + c] = Math.round(grey * 0.45 + colour[c]! * 255 * 0.55);
    }
  }
  return { width, height, channels: 3, data: out };
}
