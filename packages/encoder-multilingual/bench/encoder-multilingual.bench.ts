/**
 * `pnpm bench` for @latentkit/encoder-multilingual: tokenizer throughput and encoder latency on
 * the committed WordPiece fixture (and on model-tiny's trained encoder when it is there), each
 * against a baseline measured in the same run: the bare tokenizers.js `encode()` for the
 * tokenizer, a bare onnxruntime `session.run()` on ready ids for the encoder.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { createHuggingFaceTokenizer } from '@latentkit/encoder-utils';
import { MultilingualTextEncoder } from '../src';

const FIXTURE = path.resolve(__dirname, '../test-fixtures/tiny-multilingual');
const MODEL_TINY = path.resolve(__dirname, '../../model-tiny/model');
const PROMPTS = ['un cercle rouge sur fond bleu', 'ein roter Kreis auf blauem Hintergrund', '红色的圆形', 'a red circle', ''];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function bench(label: string, folder: string): Promise<void> {
  const encoder = await MultilingualTextEncoder.fromPretrained(folder, { sessionOptions: { intraOpNumThreads: 1 } });
  const tokenizerDir = path.join(folder, 'tokenizer_multilingual');
  const bareTokenizer = createHuggingFaceTokenizer(JSON.parse(readFileSync(path.join(tokenizerDir, 'tokenizer.json'), 'utf8')), {}, 'tokenizer.json');
  const repeats = 2000;
  const time = (run: () => void) => {
    const start = process.hrtime.bigint();
    run();
    return Number(process.hrtime.bigint() - start) / 1e9;
  };
  const ours = () => PROMPTS.forEach((p) => { for (let r = 0; r < repeats / PROMPTS.length; r++) encoder.tokenizer.encode(p); });
  const bare = () => PROMPTS.forEach((p) => { for (let r = 0; r < repeats / PROMPTS.length; r++) bareTokenizer.encode(p); });
  ours();
  bare();
  const oursTimes: number[] = [];
  const bareTimes: number[] = [];
  for (let round = 0; round < 7; round++) {
    oursTimes.push(time(ours));
    bareTimes.push(time(bare));
  }
  console.log(`${label}: tokenizer (${PROMPTS.length} prompts, median of 7 rounds of ${repeats})`);
  console.log(`  tokenizers.js encode(), unpadded (baseline)   ${(repeats / median(bareTimes)).toFixed(0).padStart(8)} prompts/s`);
  console.log(`  MultilingualTokenizer, padded to ${encoder.maxLength}          ${(repeats / median(oursTimes)).toFixed(0).padStart(8)} prompts/s   ${(median(bareTimes) / median(oursTimes)).toFixed(2)}× baseline`);

  const session = await ort.InferenceSession.create(path.join(folder, 'text_encoder_multilingual/model.onnx'), { intraOpNumThreads: 1 });
  const rows = ['', 'un cercle rouge'].map((p) => encoder.tokenizer.tokenize(p));
  const length = encoder.maxLength;
  const ids = BigInt64Array.from(rows.flatMap((r) => r.ids.map(BigInt)));
  const mask = BigInt64Array.from(rows.flatMap((r) => r.attentionMask.map(BigInt)));
  const runBare = () => session.run({ input_ids: new ort.Tensor('int64', ids, [2, length]), attention_mask: new ort.Tensor('int64', mask, [2, length]) });
  const runOurs = () => encoder.encode(['', 'un cercle rouge']);
  for (let i = 0; i < 20; i++) {
    await runBare();
    await runOurs();
  }
  const bareLatency: number[] = [];
  const oursLatency: number[] = [];
  for (let i = 0; i < 200; i++) {
    let start = process.hrtime.bigint();
    await runBare();
    bareLatency.push(Number(process.hrtime.bigint() - start) / 1e6);
    start = process.hrtime.bigint();
    await runOurs();
    oursLatency.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  console.log(`${label}: encoder latency (batch 2 × ${length}, width ${encoder.hiddenSize}, 1 intra-op thread, median of 200)`);
  console.log(`  onnxruntime session.run on ready ids (baseline)   ${median(bareLatency).toFixed(3)} ms`);
  console.log(`  MultilingualTextEncoder.encode()                  ${median(oursLatency).toFixed(3)} ms   ${(median(oursLatency) / median(bareLatency)).toFixed(2)}× baseline`);
  await encoder.dispose();
  await session.release();
}

async function main(): Promise<void> {
  await bench('fixture (WordPiece, 1 layer, width 32)', FIXTURE);
  if (existsSync(path.join(MODEL_TINY, 'text_encoder_multilingual/model.onnx'))) await bench('model-tiny', MODEL_TINY);
  else console.log(`model-tiny skipped: ${MODEL_TINY}/text_encoder_multilingual is not there yet`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
