/**
 * `pnpm bench` for @latentkit/encoder-clip.
 *
 * 1. Tokenizer throughput (prompts per second, each padded and truncated to 77) on the public
 *    corpus: latentkit's CLIPTokenizer vs transformers.js' CLIPTokenizer, built from the same
 *    tokenizer.json, interleaved rounds, medians and their ratio.
 * 2. Encoder latency on tiny-sd's text encoder, and model-tiny's when it is there (batch
 *    [uncond, cond] as the pipeline calls it):
 *    CLIPTextEncoder.encode() (tokenizing included) vs a bare onnxruntime session.run() on
 *    pre-built ids, the floor the wrapper adds to.
 *
 * Needs the shared reference data (`../shared` or $LATENTKIT_SHARED).
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { CLIPTextEncoder, CLIPTokenizer, buildClipTokenizerJson, readClipMergesFile } from '../src';

const shared = process.env.LATENTKIT_SHARED ?? path.resolve(__dirname, '../../../../shared');
const TINY_SD = path.join(shared, 'reference/tiny-sd/onnx');
const CORPUS = path.join(shared, 'reference/tokenizer/corpus_public.json');
const MODEL_TINY = path.resolve(__dirname, '../../model-tiny/model');

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function timeRound(run: () => void): number {
  const start = process.hrtime.bigint();
  run();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function benchTokenizers(): Promise<void> {
  const cases: { text: string; input_ids: number[] }[] = JSON.parse(readFileSync(CORPUS, 'utf8')).cases;
  const prompts = cases.map((c) => c.text);
  const ours = await CLIPTokenizer.fromPretrained(TINY_SD);
  // transformers.js needs a tokenizer.json: the one latentkit builds from the same vocab + merges.
  const json = buildClipTokenizerJson(await readClipMergesFile(path.join(TINY_SD, 'tokenizer/merges.txt')));
  const config = JSON.parse(readFileSync(path.join(TINY_SD, 'tokenizer/tokenizer_config.json'), 'utf8'));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const transformers = require('@huggingface/transformers') as {
    CLIPTokenizer: new (json: unknown, config: unknown) => (text: string, options: object) => { input_ids: number[] };
  };
  const theirs = new transformers.CLIPTokenizer(json, config);
  const call = (text: string) => theirs(text, { padding: 'max_length', max_length: 77, truncation: true, return_tensor: false }).input_ids;

  const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((v, i) => v === b[i]);
  const oursExact = cases.filter((c) => same(ours.encode(c.text), c.input_ids)).length;
  const theirsExact = cases.filter((c) => same(call(c.text), c.input_ids)).length;
  const repeats = 20;
  const oursRun = () => {
    for (let r = 0; r < repeats; r++) for (const p of prompts) ours.encode(p);
  };
  const theirsRun = () => {
    for (let r = 0; r < repeats; r++) for (const p of prompts) call(p);
  };
  oursRun();
  theirsRun();
  const oursTimes: number[] = [];
  const theirsTimes: number[] = [];
  for (let round = 0; round < 9; round++) {
    oursTimes.push(timeRound(oursRun));
    theirsTimes.push(timeRound(theirsRun));
  }
  const n = repeats * prompts.length;
  const oursRate = n / median(oursTimes);
  const theirsRate = n / median(theirsTimes);
  console.log(`tokenizer (${prompts.length} corpus prompts × ${repeats}, padded to 77, median of 9 rounds)`);
  console.log(`  ids equal to HuggingFace's (corpus input_ids): latentkit ${oursExact}/${cases.length}, transformers.js ${theirsExact}/${cases.length}`);
  console.log(`  transformers.js CLIPTokenizer (baseline)  ${theirsRate.toFixed(0).padStart(8)} prompts/s`);
  console.log(`  latentkit CLIPTokenizer                   ${oursRate.toFixed(0).padStart(8)} prompts/s   ${(oursRate / theirsRate).toFixed(2)}× baseline`);
}

async function benchEncoder(label: string, folder: string): Promise<void> {
  const threads = { intraOpNumThreads: 1 };
  const encoder = await CLIPTextEncoder.fromPretrained(folder, { sessionOptions: threads });
  const session = await ort.InferenceSession.create(path.join(folder, 'text_encoder/model.onnx'), threads);
  const tokenizer = encoder.tokenizer!;
  const ids = Int32Array.from([...tokenizer.encode(''), ...tokenizer.encode('a red circle')]);
  const bare = async () => {
    await session.run({ input_ids: new ort.Tensor('int32', ids, [2, 77]) });
  };
  const wrapped = async () => {
    await encoder.encode(['', 'a red circle']);
  };
  const runs = 200;
  const bareTimes: number[] = [];
  const wrappedTimes: number[] = [];
  for (let i = 0; i < 20; i++) {
    await bare();
    await wrapped();
  }
  for (let i = 0; i < runs; i++) {
    let start = process.hrtime.bigint();
    await bare();
    bareTimes.push(Number(process.hrtime.bigint() - start) / 1e6);
    start = process.hrtime.bigint();
    await wrapped();
    wrappedTimes.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  console.log(`encoder latency (${label}, batch 2 × 77, width ${encoder.hiddenSize}, 1 intra-op thread, median of ${runs})`);
  console.log(`  onnxruntime session.run on ready ids (baseline)   ${median(bareTimes).toFixed(3)} ms`);
  console.log(`  CLIPTextEncoder.encode(['', 'a red circle'])       ${median(wrappedTimes).toFixed(3)} ms   ${(median(wrappedTimes) / median(bareTimes)).toFixed(2)}× baseline`);
  await encoder.dispose();
  await session.release();
}

async function main(): Promise<void> {
  if (!existsSync(TINY_SD) || !existsSync(CORPUS)) {
    console.log(`encoder-clip bench skipped: ${TINY_SD} or ${CORPUS} is absent (set LATENTKIT_SHARED).`);
    return;
  }
  await benchTokenizers();
  await benchEncoder('tiny-sd text encoder', TINY_SD);
  if (existsSync(path.join(MODEL_TINY, 'text_encoder/model.onnx'))) await benchEncoder("model-tiny's English text encoder", MODEL_TINY);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
