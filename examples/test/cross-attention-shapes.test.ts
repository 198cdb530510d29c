import { main, sd15CrossAttentionRows } from '../cross-attention-shapes';
import { describeWithEmbeddedModel, runExample, tinySdFolder } from './example-harness';

/** Table rows: layer, kind, pixels, Q, K, V, scores. */
const rowsOf = (lines: readonly string[]) =>
  lines.filter((line) => / (cross|self) {2}/.test(line)).map((line) => line.split(/\s{2,}/).map((cell) => cell.trim()));

describeWithEmbeddedModel('cross-attention-shapes on the embedded model', () => {
  it('prints every cross-attention layer: queries from the latent\'s pixels, keys and values from the 77 tokens', async () => {
    const { lines, text } = await runExample(main, []);
    expect(text).toContain('text states [1, 77, 128] (cross_attention_dim 128)');
    const rows = rowsOf(lines);
    expect(rows.length).toBeGreaterThan(0);
    for (const [, kind, pixels, q, k, v, scores] of rows) {
      expect(kind).toBe('cross');
      const positions = Number(/= (\d+)/.exec(pixels!)![1]);
      expect(q).toMatch(new RegExp(`^\\[1, ${positions}, \\d+\\]$`));
      expect(k).toMatch(/^\[1, 77, \d+\]$/);
      expect(v).toBe(k);
      // The scores pair each pixel with each token: [..., positions, 77].
      expect(scores).toMatch(new RegExp(`, ${positions}, 77\\]$`));
    }
  });
});

(tinySdFolder ? describe : describe.skip)('cross-attention-shapes on diffusers\' tiny-sd export (external weights)', () => {
  it('finds attn1 (self) and attn2 (cross) of every transformer block', async () => {
    const { lines, text } = await runExample(main, ['--model', tinySdFolder!, '--all', '1']);
    const rows = rowsOf(lines);
    expect(rows.filter((r) => r[1] === 'cross').every((r) => r[0]!.endsWith('/attn2') && r[4] === '[1, 77, 64]')).toBe(true);
    expect(rows.filter((r) => r[1] === 'self').every((r) => r[0]!.endsWith('/attn1') && r[4] === '[1, 64, 64]')).toBe(true);
    expect(text).toContain('8 attention layers: 4 cross-attention');
  });
});
if (!tinySdFolder) console.warn('cross-attention-shapes on tiny-sd: skipped — ../shared/reference/tiny-sd is absent (set LATENTKIT_SHARED)');

describe('SD 1.5\'s cross-attention shapes', () => {
  it('come from its UNet config: W_q [C, C], W_k and W_v [768, C], 8 heads, at every level with attention', () => {
    const rows = sd15CrossAttentionRows();
    expect(rows[1]).toEqual(['down 1', '64×64 = 4096', '[320, 320]', '[768, 320]', '[768, 320]', '8 × 40', '[8, 4096, 77]']);
    expect(rows.find((r) => r[0] === 'mid')).toEqual(['mid', '8×8 = 64', '[1280, 1280]', '[768, 1280]', '[768, 1280]', '8 × 160', '[8, 64, 77]']);
    expect(rows).toHaveLength(8); // header + 3 down + mid + 3 up (SD 1.5's last down and first up block have no attention)
  });
});
