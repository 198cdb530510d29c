import { main } from '../vae-roundtrip';
import { describeWithEmbeddedModel, runExample, tableRow } from './example-harness';

describeWithEmbeddedModel('vae-roundtrip on the embedded model', () => {
  it('prints the compression ratio and a reconstruction error per image', async () => {
    const { lines, text } = await runExample(main, []);
    // 64×64×3 = 12,288 numbers → 4×16×16 = 1,024: ratio 12 (scale factor 4); SD's 48× is quoted beside it.
    expect(text).toContain('compression: 64×64×3 = 12,288 numbers → 4×16×16 = 1,024 numbers: ratio 12×');
    expect(text).toContain('ratio 48×');
    for (const label of ['red circle on blue', 'yellow square on purple', 'white triangle on green']) {
      const [, mean, sample] = tableRow(lines, label);
      // The embedded VAE reconstructs its own kind of image well: at least 25 dB (measured ≈ 34–38 dB).
      expect(parseFloat(mean!)).toBeGreaterThan(25);
      expect(parseFloat(sample!)).toBeGreaterThan(25);
    }
  });
});
