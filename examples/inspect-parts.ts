/**
 * Question 2: which of Stable Diffusion's parts are trained, and which are fixed algorithms?
 *
 * Reads a model folder without running it and prints every part: what it is, how many numbers
 * it stores as weights (counted from the ONNX graphs' initializers and safetensors headers), and
 * what it was trained on according to the model card. The scheduler stores none: it is an
 * algorithm whose config holds only hyper-parameters (the noise schedule).
 *
 *   pnpm --filter @latentkit/examples exec tsx inspect-parts.ts [--model <folder>]
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { exists, readModelFolder, type FolderComponent } from '@latentkit/core';
import { displayPath, formatTable, parseFlags, printer, processIo, runIfScript, type ExampleIo } from './lib/example-cli';
import { countParameters, parseOnnxGraph } from './lib/onnx-graph';

/** What a part is, from its slot name in `model_index.json`. */
function roleOf(slot: string): { part: string; kind: 'network' | 'algorithm' | 'vocabulary' | 'other' } {
  if (slot.startsWith('text_encoder')) return { part: `text encoder${slot === 'text_encoder' ? '' : ` (${slot.slice('text_encoder_'.length)})`}`, kind: 'network' };
  if (slot.startsWith('tokenizer')) return { part: `tokenizer${slot === 'tokenizer' ? '' : ` (${slot.slice('tokenizer_'.length)})`}`, kind: 'vocabulary' };
  if (slot === 'unet') return { part: 'UNet', kind: 'network' };
  if (slot === 'vae' || slot.startsWith('vae_')) return { part: slot === 'vae' ? 'VAE' : `VAE ${slot.slice(4)}`, kind: 'network' };
  if (slot === 'scheduler') return { part: 'scheduler', kind: 'algorithm' };
  return { part: slot, kind: 'other' };
}

/** Weights stored in a safetensors file: an 8-byte little-endian header length, then a JSON header. */
async function safetensorsParameters(file: string): Promise<number> {
  const handle = await fs.open(file, 'r');
  try {
    const length = Buffer.alloc(8);
    await handle.read(length, 0, 8, 0);
    const header = Buffer.alloc(Number(length.readBigUInt64LE(0)));
    await handle.read(header, 0, header.length, 8);
    const tensors = JSON.parse(header.toString('utf8')) as Record<string, { dtype?: string; shape?: number[] }>;
    let total = 0;
    for (const [name, tensor] of Object.entries(tensors)) {
      if (name !== '__metadata__' && /^(F|BF)\d+$/.test(tensor.dtype ?? '')) total += (tensor.shape ?? []).reduce((a, b) => a * b, 1);
    }
    return total;
  } finally {
    await handle.close();
  }
}

/** Parameters of every weight file of a component (ONNX graphs count their external data through the dims). */
async function componentParameters(component: FolderComponent): Promise<number> {
  let total = 0;
  for (const file of component.files) {
    const full = path.join(component.componentPath, file.name);
    if (file.name.endsWith('.onnx')) total += countParameters(parseOnnxGraph(await fs.readFile(full)));
    else if (file.name.endsWith('.safetensors')) total += await safetensorsParameters(full);
  }
  return total;
}

/** Entries in the tokenizer's vocabulary (`vocab.json`, or `tokenizer.json`'s model). */
async function vocabularySize(component: FolderComponent): Promise<number | undefined> {
  const vocab = path.join(component.componentPath, 'vocab.json');
  if (await exists(vocab)) return Object.keys(JSON.parse(await fs.readFile(vocab, 'utf8')) as object).length;
  const tokenizer = path.join(component.componentPath, 'tokenizer.json');
  if (!(await exists(tokenizer))) return undefined;
  const model = (JSON.parse(await fs.readFile(tokenizer, 'utf8')) as { model?: { vocab?: object | unknown[] } }).model;
  return model?.vocab ? (Array.isArray(model.vocab) ? model.vocab.length : Object.keys(model.vocab).length) : undefined;
}

/** The model card: `README.md` or `MODEL_CARD.md` in the folder, or `MODEL_CARD.md` beside it (as `@latentkit/model-tiny` ships it). */
async function findModelCard(folder: string): Promise<string | undefined> {
  for (const candidate of [path.join(folder, 'README.md'), path.join(folder, 'MODEL_CARD.md'), path.join(folder, '..', 'MODEL_CARD.md')]) {
    if (await exists(candidate)) return candidate;
  }
  return undefined;
}

/**
 * The sections of a model card that say what the model was trained on: headings naming data or
 * training, each with its text up to the next heading of the same or a higher level.
 */
export function trainingSections(card: string): { heading: string; text: string }[] {
  const lines = card.split(/\r?\n/);
  const found: { heading: string; text: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const match = /^(#{1,6})\s+(.*)$/.exec(lines[i]!);
    if (!match || !/\b(data|dataset|training|trained)\b/i.test(match[2]!)) continue;
    const level = match[1]!.length;
    const body: string[] = [];
    for (let j = i + 1; j < lines.length; j++) {
      const next = /^(#{1,6})\s/.exec(lines[j]!);
      if (next && next[1]!.length <= level) break;
      body.push(lines[j]!);
    }
    found.push({ heading: match[2]!.trim(), text: body.join('\n').trim() });
  }
  return found;
}

const grouped = (n: number) => n.toLocaleString('en-US');

/**
 * Prints the parts of a model folder, their parameter counts and training data.
 *
 * @example
 * ```ts
 * await main(['--model', 'models/sd15-onnx']);
 * ```
 */
export async function main(argv: readonly string[], io: ExampleIo = processIo): Promise<void> {
  const print = printer(io);
  const { model } = parseFlags(argv);
  const folder = await readModelFolder(model);
  print(`model: ${displayPath(folder.path)} (${folder.index.className ?? 'no _class_name'})`);
  print();

  const rows: string[][] = [['part', 'slot', 'class', 'trained?', 'parameters', 'stored as']];
  let trainedTotal = 0;
  // In the order a prompt flows through them: tokenizer, text encoder, UNet + scheduler, VAE.
  const rank = (slot: string) => ['tokenizer', 'text_encoder', 'unet', 'scheduler', 'vae'].findIndex((prefix) => slot.startsWith(prefix));
  const components = [...folder.components.values()].sort((a, b) => rank(a.entry.slot) - rank(b.entry.slot));
  for (const component of components) {
    const { part, kind } = roleOf(component.entry.slot);
    const parameters = kind === 'network' || kind === 'other' ? await componentParameters(component) : 0;
    trainedTotal += parameters;
    const vocabulary = kind === 'vocabulary' ? await vocabularySize(component) : undefined;
    const trained = kind === 'network' ? 'yes' : kind === 'algorithm' ? 'no: algorithm' : kind === 'vocabulary' ? 'no: lookup' : '?';
    const stored =
      kind === 'vocabulary'
        ? `${vocabulary === undefined ? 'a' : grouped(vocabulary) + '-entry'} vocabulary`
        : component.files
            .filter((f) => kind !== 'network' || !f.name.endsWith('.json'))
            .map((f) => f.name)
            .join(', ');
    rows.push([part, component.entry.slot, component.entry.className ?? '', trained, grouped(parameters), stored]);
  }
  print(formatTable(rows, [4]));
  print();
  print(`trained parameters in all: ${grouped(trainedTotal)}`);

  const scheduler = folder.components.get('scheduler');
  if (scheduler) {
    const c = scheduler.config ?? {};
    print(
      `the scheduler has 0 parameters: ${scheduler.entry.className} is a fixed algorithm. Its config holds hyper-parameters, ` +
        `not weights: beta_schedule ${String(c.beta_schedule ?? 'linear')}, β from ${String(c.beta_start ?? 0.0001)} to ${String(c.beta_end ?? 0.02)} ` +
        `over ${String(c.num_train_timesteps ?? 1000)} training steps, prediction_type ${String(c.prediction_type ?? 'epsilon')}.`,
    );
  }

  const cardFile = await findModelCard(folder.path);
  print();
  if (!cardFile) {
    print('trained on: this folder has no model card (README.md or MODEL_CARD.md), so the data is not stated.');
    return;
  }
  const sections = trainingSections(await fs.readFile(cardFile, 'utf8'));
  print(`trained on (from the model card ${displayPath(cardFile)}):`);
  if (sections.length === 0) print('  the card has no section about data or training.');
  for (const { heading, text } of sections) {
    print(`  ## ${heading}`);
    for (const line of text.split('\n')) if (line.trim()) print(`  ${line}`);
  }
}

runIfScript(module, main);
