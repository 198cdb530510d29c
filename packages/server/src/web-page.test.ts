/// <reference lib="dom" />
/**
 * The web page at `/` in a real headless Chromium (Debian's `chromium`, driven by playwright-core):
 * type a prompt, press Generate, watch progress, and judge the image from its pixels; then cancel
 * a long run from the page.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { analyseShapeImage } from '@latentkit/testing';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { createServer, type LatentkitServer } from './index';
import { pngToRgb } from './test-helpers';

const CHROMIUM = '/usr/bin/chromium';
const present = existsSync(CHROMIUM);
if (!present) {
  if (process.env.CI === 'true') throw new Error(`CI=true but ${CHROMIUM} is missing: .ci/run must apt-get install -y chromium`);
  console.warn(`Skipping the browser test: ${CHROMIUM} is missing (apt-get install -y chromium)`);
}

(present ? describe : describe.skip)('the web page in headless Chromium', () => {
  let server: LatentkitServer;
  let base: string;
  let context: BrowserContext;
  let page: Page;
  let profile: string;

  beforeAll(async () => {
    server = await createServer({ loadOptions: { sessionOptions: { threads: 1 } }, authToken: 'page-test-token' });
    base = await server.listen({ port: 0 });
    profile = mkdtempSync(path.join(tmpdir(), 'latentkit-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${base}/?access_token=page-test-token`);
    await page.waitForFunction(() => (document.getElementById('sampler') as HTMLSelectElement).options.length > 1);
    // Record every status line and whether a preview arrived before the result.
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { statuses: string[] }).statuses = seen;
      new MutationObserver(() => seen.push(document.getElementById('status')!.textContent ?? '')).observe(document.getElementById('status')!, { childList: true, characterData: true, subtree: true });
    });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await server?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('generates "a red circle on a blue background" with live progress, and shows it in the gallery with its parameters', async () => {
    await page.fill('#prompt', 'a red circle on a blue background');
    await page.selectOption('#sampler', 'DDIM');
    await page.fill('#steps', '20');
    await page.fill('#guidance', '5');
    await page.fill('#seed', '11');
    await page.click('#generate');
    await page.waitForSelector('.card img.result', { timeout: 60_000 });
    const statuses = await page.evaluate(() => (window as unknown as { statuses: string[] }).statuses);
    expect(statuses).toEqual(expect.arrayContaining([expect.stringMatching(/^Step \d+ \/ 20$/), 'Done.']));
    expect(await page.$eval('#progress', (el) => (el as HTMLProgressElement).value)).toBe(1);
    const src = await page.$eval('.card img.result', (img) => (img as HTMLImageElement).src);
    expect(src).toMatch(/^data:image\/png;base64,/);
    const image = await pngToRgb(src.slice(src.indexOf(',') + 1));
    expect(image).toMatchObject({ width: 64, height: 64 });
    expect(analyseShapeImage(image)).toMatchObject({ foreground: 'red', shape: 'circle', background: 'blue' });
    expect(await page.textContent('.card')).toMatch(/seed 11 \| DDIM, 20 steps, guidance 5 \| 64×64 \| latentkit-tiny/);
  });

  it('cancels a long run from the page', async () => {
    await page.fill('#steps', '150');
    await page.click('#generate');
    await page.waitForFunction(() => /^Step \d+/.test(document.getElementById('status')!.textContent ?? ''), undefined, { timeout: 60_000 });
    await page.click('#cancel');
    await page.waitForFunction(() => document.getElementById('status')!.textContent === 'Cancelled.', undefined, { timeout: 60_000 });
    expect(await page.isDisabled('#generate')).toBe(false);
    expect(await page.$$('.card')).toHaveLength(1);
  });
});
