import { main } from '../swap-text-encoder';
import { describeWithEmbeddedModel, runExample, tableRow } from './example-harness';

describeWithEmbeddedModel('swap-text-encoder on the embedded model', () => {
  it('generates with both encoders, then shows the orchestrator refusing a 64-wide encoder for a 128-wide UNet', async () => {
    const { lines, text } = await runExample(main, ['--languages', 'en,de', '--steps', '4']);
    expect(tableRow(lines, 'clip')[1]).toBe('en');
    expect(lines.some((line) => /^multilingual +de +ein roter Kreis auf blauem Hintergrund/.test(line))).toBe(true);
    expect(text).toContain('IncompatibleComponentsError');
    expect(text).toContain("text encoder 'hashing' produces 64-wide embeddings but the UNet's cross-attention expects 128");
    expect(text).toContain('right width, wrong space: the hashing encoder at hidden size 128 loads and runs');
    expect(text).toMatch(/prompt followed: clip [0-4]\/4, hashing [0-4]\/4/);
  });
});
