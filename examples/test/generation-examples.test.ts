import { main as img2img } from '../img2img';
import { main as inpaint } from '../inpaint';
import { main as txt2img } from '../txt2img';
import { describeWithEmbeddedModel, runExample, tableRow } from './example-harness';

describeWithEmbeddedModel('txt2img, img2img and inpaint on the embedded model', () => {
  it('txt2img prints one analysed line per image', async () => {
    const { text } = await runExample(txt2img, ['--images', '2', '--steps', '4']);
    expect(text).toMatch(/2 image\(s\) of 64×64, 4 DDIMScheduler steps/);
    expect(text).toMatch(/image 2: analyser reads /);
  });

  it('img2img runs ⌊strength × steps⌋ steps and moves further from the input as strength grows', async () => {
    const { lines } = await runExample(img2img, ['--strengths', '0.25,1', '--steps', '8']);
    const low = tableRow(lines, '0.25');
    const high = tableRow(lines, '1');
    expect([low[1], high[1]]).toEqual(['2', '8']);
    expect(parseFloat(low[2]!)).toBeGreaterThan(parseFloat(high[2]!));
  });

  it('inpaint keeps the unmasked region and repaints the masked one', async () => {
    const { text } = await runExample(inpaint, ['--steps', '6']);
    const outside = Number(/mean change outside the mask: ([\d.]+)/.exec(text)![1]);
    const inside = Number(/mean change inside the mask: ([\d.]+)/.exec(text)![1]);
    // Outside: only the VAE's round trip (a few levels); inside: repainted.
    expect(outside).toBeLessThan(8);
    expect(inside).toBeGreaterThan(outside);
  });
});
