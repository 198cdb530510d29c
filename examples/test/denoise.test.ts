import { main } from '../denoise';
import { describeWithEmbeddedModel, runExample } from './example-harness';

describeWithEmbeddedModel('denoise on the embedded model', () => {
  it('runs without a text encoder in the pipeline and raises the PSNR', async () => {
    const { text } = await runExample(main, ['--strengths', '0.1,0.3', '--steps', '10']);
    expect(text).toContain('text encoder: none (pipeline.textEncoder is undefined)');
    const [, before, after] = /PSNR before: ([\d.]+) dB, after \(best, strength [\d.]+\): ([\d.]+) dB/.exec(text)!;
    expect(Number(after)).toBeGreaterThan(Number(before));
  });
});
