/**
 * Question 5, as a picture: what does each word of the prompt attend to?
 *
 * Generates an image, then replays the UNet on the latents the run visited with every
 * cross-attention's softmax(Q·Kᵀ/√d) added to the graph's outputs (the layers found by
 * `cross-attention-shapes.ts`). For each word of the prompt it sums the probabilities of the word's
 * tokens, averages over heads, layers (each resolution level upsampled to the latent's size) and
 * steps, and draws the result as a heatmap over the image. It prints each word's share of the
 * attention and how much more it attends inside the shape than on the background.
 *
 *   pnpm --filter @latentkit/examples exec tsx cross-attention-maps.ts [--prompt "a red circle on a blue background"]
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { exists, type Tensor } from '@latentkit/core';
import { StableDiffusionPipeline } from '@latentkit/pipeline';
import { analyseShapeImage, SHAPE_PALETTE } from '@latentkit/testing';
import { findAttentionLayers, timestepFeed } from './cross-attention-shapes';
import { displayPath, formatTable, parseFlags, printer, processIo, runIfScript, type ExampleIo } from './lib/example-cli';
import type { Rgb8Image } from './lib/images';
import { saveLabelledGrid } from './lib/labelled-grid';
import { parseOnnxGraph, stageEditedModel, withExtraOutputs } from './lib/onnx-graph';

const FLAGS = {
  prompt: { type: 'string', default: 'a red circle on a blue background', help: 'the prompt whose words are mapped' },
  steps: { type: 'number', default: 20, help: 'denoising steps of the generation' },
  seed: { type: 'number', default: 0, help: 'seed of the generation' },
  guidance: { type: 'number', default: 5, help: 'classifier-free guidance scale' },
} as const;

/** One word of the prompt and the positions of its tokens in the 77-token sequence. */
export interface WordTokens {
  readonly word: string;
  readonly positions: readonly number[];
}

/**
 * Which token positions each whitespace-separated word of `prompt` occupies: position 0 is the
 * start token, then each word's tokens in order (a word may become several BPE tokens).
 *
 * @example
 * ```ts
 * wordPositions(tokenizer, 'a red circle'); // [{ word: 'a', positions: [1] }, { word: 'red', positions: [2] }, …]
 * ```
 */
export function wordPositions(tokenizer: { tokenize(text: string, options?: { padding?: boolean; truncation?: boolean }): { ids: readonly number[] } }, prompt: string): WordTokens[] {
  const words: WordTokens[] = [];
  let next = 1;
  for (const word of prompt.split(/\s+/).filter(Boolean)) {
    // Without padding a word tokenizes to [start, …tokens, end].
    const count = tokenizer.tokenize(word, { padding: false }).ids.length - 2;
    words.push({ word, positions: Array.from({ length: count }, (_, i) => next + i) });
    next += count;
  }
  return words;
}

/**
 * Mean attention map per token over `side`×`side` latent pixels: the scores of one layer
 * ([1, heads, pixels, tokens] or [heads, pixels, tokens]) averaged over heads, upsampled to `side`
 * with nearest-neighbour, added into `into` ([tokens][side·side]).
 */
export function accumulateScores(scores: ort.Tensor, side: number, into: Float64Array[]): void {
  const dims = scores.dims;
  const tokens = dims[dims.length - 1]!;
  const pixels = dims[dims.length - 2]!;
  const heads = dims.slice(0, -2).reduce((a, b) => a * b, 1);
  const layerSide = Math.round(Math.sqrt(pixels));
  const data = scores.data as Float32Array;
  const factor = side / layerSide;
  for (let h = 0; h < heads; h++) {
    for (let p = 0; p < pixels; p++) {
      const row = (h * pixels + p) * tokens;
      const [py, px] = [Math.floor(p / layerSide), p % layerSide];
      for (let t = 0; t < tokens; t++) {
        const value = data[row + t]! / heads;
        for (let dy = 0; dy < factor; dy++) {
          for (let dx = 0; dx < factor; dx++) into[t]![(py * factor + dy) * side + px * factor + dx]! += value;
        }
      }
    }
  }
}

/**
 * A heatmap (black → red → yellow → white) of `map` over `side`² latent pixels at the image's size,
 * bilinearly interpolated, stretched from the map's minimum to its maximum (each word on its own scale).
 */
function heatmap(map: Float64Array, side: number, width: number, height: number): Rgb8Image {
  let [min, max] = [Infinity, -Infinity];
  for (const v of map) [min, max] = [Math.min(min, v), Math.max(max, v)];
  const range = max - min || 1;
  const at = (y: number, x: number) => (map[Math.min(side - 1, Math.max(0, y)) * side + Math.min(side - 1, Math.max(0, x))]! - min) / range;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      // Sample centres: pixel (x, y) sits at latent coordinate ((x + ½)·side/width − ½).
      const [fy, fx] = [((y + 0.5) * side) / height - 0.5, ((x + 0.5) * side) / width - 0.5];
      const [y0, x0] = [Math.floor(fy), Math.floor(fx)];
      const [wy, wx] = [fy - y0, fx - x0];
      const v = (1 - wy) * ((1 - wx) * at(y0, x0) + wx * at(y0, x0 + 1)) + wy * ((1 - wx) * at(y0 + 1, x0) + wx * at(y0 + 1, x0 + 1));
      const o = (y * width + x) * 3;
      data[o] = Math.round(255 * Math.min(1, v * 3));
      data[o + 1] = Math.round(255 * Math.min(1, Math.max(0, v * 3 - 1)));
      data[o + 2] = Math.round(255 * Math.max(0, v * 3 - 2));
    }
  }
  return { width, height, channels: 3, data };
}

/**
 * Generates an image and prints and draws where each word of the prompt attends.
 *
 * @example
 * ```ts
 * await main(['--prompt', 'a yellow square on a green background']);
 * ```
 */
export async function main(argv: readonly string[], io: ExampleIo = processIo): Promise<void> {
  const print = printer(io);
  const { model, outDir, values } = parseFlags(argv, FLAGS);
  const prompt = String(values.prompt);
  const pipeline = await StableDiffusionPipeline.fromPretrained(model);
  try {
    const encoder = pipeline.textEncoder!;
    const words = wordPositions(encoder.tokenizer!, prompt);
    const { hiddenStates } = await encoder.encode([prompt]);
    // The UNet inputs the run visits: the latents after step i are the input of step i + 1 (DDIM's
    // scaleModelInput is x itself), at step i + 1's timestep.
    const reports: { latents: Tensor<Float32Array>; timestep: number }[] = [];
    const { images } = await pipeline.textToImage({
      prompt,
      numInferenceSteps: Number(values.steps),
      seed: Number(values.seed),
      guidanceScale: Number(values.guidance),
      onStep: ({ latents, timestep }) => void reports.push({ latents, timestep }),
    });
    const inputs = reports.slice(0, -1).map((report, i) => ({ latents: report.latents, timestep: reports[i + 1]!.timestep }));
    const image = images[0]!;

    // The UNet graph with every cross-attention's probabilities as extra outputs.
    const modelFile = (await exists(path.join(model, 'unet', 'model.onnx'))) ? path.join(model, 'unet', 'model.onnx') : path.join(model, 'model.onnx');
    const bytes = await fs.readFile(modelFile);
    const graph = parseOnnxGraph(bytes);
    const cross = findAttentionLayers(graph).filter((layer) => layer.cross);
    const side = inputs[0]!.latents.dims[3]!;
    const tokens = hiddenStates.dims[1]!;
    const maps = Array.from({ length: tokens }, () => new Float64Array(side * side));
    const { source, cleanup } = await stageEditedModel(modelFile, withExtraOutputs(bytes, cross.map((layer) => layer.scores)), graph);
    try {
      const session = await ort.InferenceSession.create(source as string, { graphOptimizationLevel: 'disabled', intraOpNumThreads: 1 });
      try {
        for (const input of inputs) {
          const outputs = await session.run(
            {
              sample: new ort.Tensor('float32', input.latents.data, input.latents.dims as number[]),
              encoder_hidden_states: new ort.Tensor('float32', hiddenStates.data, hiddenStates.dims as number[]),
              timestep: timestepFeed(session, input.timestep, 1),
            },
            cross.map((layer) => layer.scores),
          );
          for (const layer of cross) accumulateScores(outputs[layer.scores]!, side, maps);
        }
      } finally {
        await session.release();
      }
    } finally {
      await cleanup();
    }
    const runs = inputs.length * cross.length;
    for (const map of maps) for (let i = 0; i < map.length; i++) map[i]! /= runs;
    // A check on the capture: at every pixel the probabilities over the 77 tokens sum to 1.
    let deviation = 0;
    for (let p = 0; p < side * side; p++) deviation = Math.max(deviation, Math.abs(maps.reduce((sum, map) => sum + map[p]!, 0) - 1));

    // Inside the shape vs on the background: pixels nearer the foreground colour the analyser reads.
    const found = analyseShapeImage(image);
    const inside = new Uint8Array(side * side);
    if (found.foreground && found.background) {
      const [fg, bg] = [SHAPE_PALETTE[found.foreground], SHAPE_PALETTE[found.background]];
      const scale = image.width / side;
      for (let p = 0; p < side * side; p++) {
        const o = ((Math.floor(p / side) * scale + scale / 2) * image.width + (p % side) * scale + scale / 2) * 3;
        const rgb = [image.data[o]!, image.data[o + 1]!, image.data[o + 2]!];
        inside[p] = Number(Math.hypot(...rgb.map((v, c) => v - fg[c]!)) < Math.hypot(...rgb.map((v, c) => v - bg[c]!)));
      }
    }
    const insideCount = inside.reduce((a, b) => a + b, 0);
    const wordMap = (word: WordTokens) => {
      const map = new Float64Array(side * side);
      for (const position of word.positions) for (let p = 0; p < map.length; p++) map[p]! += maps[position]![p]!;
      return map;
    };
    const rows = [['word', 'tokens', 'share of attention', 'inside shape ÷ background']];
    const start = maps[0]!.reduce((a, b) => a + b, 0) / (side * side);
    rows.push(['(start token)', '0', `${(100 * start).toFixed(1)} %`, '—']);
    const pictures: Rgb8Image[] = [image];
    for (const word of words) {
      const map = wordMap(word);
      const share = map.reduce((a, b) => a + b, 0) / (side * side);
      let [sumIn, sumOut] = [0, 0];
      for (let p = 0; p < map.length; p++) {
        if (inside[p]) sumIn += map[p]!;
        else sumOut += map[p]!;
      }
      const ratio = insideCount > 0 && insideCount < side * side ? sumIn / insideCount / (sumOut / (side * side - insideCount)) : NaN;
      rows.push([word.word, word.positions.join(','), `${(100 * share).toFixed(1)} %`, Number.isFinite(ratio) ? ratio.toFixed(2) : '—']);
      pictures.push(heatmap(map, side, image.width, image.height));
    }
    print(`prompt: "${prompt}" (${encoder.name}), ${Number(values.steps)} steps, guidance ${Number(values.guidance)}, seed ${Number(values.seed)}`);
    print(`${cross.length} cross-attention layers × ${inputs.length} steps averaged (conditional half), heads averaged, maps at the latent's ${side}×${side}`);
    print(`probabilities over the ${tokens} tokens sum to 1 at every pixel (largest deviation ${deviation.toExponential(1)})`);
    print(`analyser reads the image: ${found.shape ? `${found.foreground} ${found.shape} on ${found.background}` : 'no shape'}`);
    print();
    print(formatTable(rows, [2, 3]));
    print();
    print('share of attention: the word\'s tokens\' probability mass, averaged over pixels (every pixel\'s probabilities over the 77 tokens sum to 1)');
    print('inside shape ÷ background: mean attention on the shape\'s pixels over that on the background\'s (> 1: the word looks at the shape)');
    const file = await saveLabelledGrid(path.join(outDir, 'cross-attention-maps.png'), [{ label: 'attention', images: pictures }], {
      title: `"${prompt}": where each word attends (cross-attention, mean over layers, heads and steps; each map on its own scale)`,
      columns: ['image', ...words.map((word) => `"${word.word}"`)],
      scale: 2,
    });
    print(`images (the image, then one heatmap per word): ${displayPath(file)}`);
  } finally {
    await pipeline.dispose();
  }
}

runIfScript(module, main);
