import { main, trainingSections } from '../inspect-parts';
import { describeWithEmbeddedModel, runExample, tableRow, tinySdFolder } from './example-harness';

describe('trainingSections', () => {
  it('returns the sections whose headings name data or training, up to the next heading of the same level', () => {
    const card = '# Model\nintro\n## Training data\n50 000 renders\n### Captions\nfive languages\n## Licence\nMIT\n';
    expect(trainingSections(card)).toEqual([{ heading: 'Training data', text: '50 000 renders\n### Captions\nfive languages' }]);
  });
});

describeWithEmbeddedModel('inspect-parts on the embedded model', () => {
  it('lists the four parts, the scheduler with 0 parameters as an algorithm, the networks with weights', async () => {
    const { lines, text } = await runExample(main, []);
    const scheduler = tableRow(lines, 'scheduler');
    expect(scheduler).toEqual(['scheduler', 'scheduler', 'DDIMScheduler', 'no: algorithm', '0', 'scheduler_config.json']);
    for (const part of ['text encoder', 'UNet', 'VAE encoder', 'VAE decoder']) {
      const row = tableRow(lines, part);
      expect(row[3]).toBe('yes');
      expect(Number(row[4]!.replace(/,/g, ''))).toBeGreaterThan(10_000);
    }
    expect(tableRow(lines, 'tokenizer')[3]).toBe('no: lookup');
    // Reference: PyTorch's sum(p.numel() for p in module.parameters()) of tools/train-tiny's
    // UNetTiny, CLIPTextTiny, MultilingualTiny and VAE encoder/decoder (exact: tolerance 0).
    expect(tableRow(lines, 'UNet')[4]).toBe('6,814,404');
    expect(tableRow(lines, 'text encoder (multilingual)')[4]).toBe('700,672');
    expect(tableRow(lines, 'text encoder')[4]).toBe('617,088');
    expect(tableRow(lines, 'VAE encoder')[4]).toBe('658,728');
    expect(tableRow(lines, 'VAE decoder')[4]).toBe('1,319,299');
    expect(text).toContain('the scheduler has 0 parameters: DDIMScheduler is a fixed algorithm');
    expect(text).toMatch(/trained on/);
  });
});

(tinySdFolder ? describe : describe.skip)('inspect-parts on diffusers\' tiny-sd export', () => {
  it('counts the UNet weights stored in the external weights.pb through the graph\'s dims', async () => {
    const { lines } = await runExample(main, ['--model', tinySdFolder!]);
    const unet = tableRow(lines, 'UNet');
    expect(unet[5]).toBe('model.onnx, weights.pb');
    expect(Number(unet[4]!.replace(/,/g, ''))).toBeGreaterThan(100_000);
    expect(tableRow(lines, 'scheduler')[2]).toBe('PNDMScheduler');
  });
});
if (!tinySdFolder) console.warn('inspect-parts on tiny-sd: skipped — ../shared/reference/tiny-sd is absent (set LATENTKIT_SHARED)');
