/**
 * Tokenizer files that cannot be the model's are refused at load, naming the file (issue 17 item 4):
 * an empty or truncated merges.txt, a damaged merge line, and a tokenizer whose ids lie past the
 * text encoder's embedding rows.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ModelLoadError } from '@latentkit/core';
import { referencePath } from '@latentkit/testing';
import { CLIPTextEncoder, CLIPTokenizer } from './index';

const tinySd = referencePath('tiny-sd');
if (!tinySd) console.warn('Skipping tokenizer-file tests: ../shared/reference/tiny-sd is absent (set LATENTKIT_SHARED)');

(tinySd ? describe : describe.skip)('tokenizer files that cannot be the model’s', () => {
  let scratch: string;
  const tokenizerDir = () => path.join(tinySd!, 'onnx', 'tokenizer');
  const copy = (name: string, mergesText?: string) => {
    const dir = path.join(scratch, name);
    cpSync(tokenizerDir(), dir, { recursive: true });
    rmSync(path.join(dir, 'tokenizer.json'), { force: true });
    if (mergesText !== undefined) writeFileSync(path.join(dir, 'merges.txt'), mergesText);
    return dir;
  };
  beforeAll(() => {
    scratch = mkdtempSync(path.join(tmpdir(), 'latentkit-tokenizer-'));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('loads the real files and tokenizes "a red circle on a blue background" to 7 word ids (9 framed)', async () => {
    const tokenizer = await CLIPTokenizer.fromPretrained(copy('real'));
    expect(tokenizer.encodeWords('a red circle on a blue background')).toHaveLength(7);
  });

  it.each([
    ['empty', '', /merges\.txt: it holds no merges, but .*vocab\.json has 49408 tokens \(48894 of them merges\)/],
    ['header only', '#version: 0.2\n', /it holds no merges/],
    ['truncated', (text: string) => text.split('\n').slice(0, 1000).join('\n'), /merges\.txt: it holds 999 merges but .*vocab\.json has 49408 tokens, which need 48894 \(49408 − 512 byte symbols − 2 special tokens\): the file is truncated/],
    ['damaged', (text: string) => text.replace(/\n(.*)\n/, '\n$1 extra\n'), /merges\.txt: line 2 is ".* extra", not a merge "left right"/],
  ] as const)('refuses a %s merges.txt with a ModelLoadError naming the file', async (name, content, message) => {
    const original = readFileSync(path.join(tokenizerDir(), 'merges.txt'), 'utf8');
    const dir = copy(name, typeof content === 'function' ? content(original) : content);
    const error = await CLIPTokenizer.fromPretrained(dir).catch((e: unknown) => e);
    expect(ModelLoadError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain(path.join(dir, 'merges.txt'));
    expect((error as Error).message).toMatch(message);
  });

  it('refuses a tokenizer whose ids lie past the encoder’s embedding rows', async () => {
    const model = path.join(scratch, 'model');
    cpSync(path.join(tinySd!, 'onnx'), model, { recursive: true });
    const configFile = path.join(model, 'text_encoder', 'config.json');
    writeFileSync(configFile, JSON.stringify({ ...JSON.parse(readFileSync(configFile, 'utf8')), vocab_size: 1000 }));
    await expect(CLIPTextEncoder.fromPretrained(model)).rejects.toThrow(
      `Cannot load ${configFile}: vocab_size is 1000 (embedding rows) but the tokenizer makes ids up to 49407: use the tokenizer that came with this encoder`,
    );
  });
});
