/// <reference lib="dom" />
/**
 * The page's "Image to upscale" in headless Chromium (Debian's `chromium` through playwright-core, as
 * page.test.ts): choosing a PNG shows the strength field and the target size from the image, Upscale runs
 * it on the tiny SDXL fixture, and the final image is the input's size × 2. Skipped without a Chromium
 * unless ACCD_REQUIRE_BROWSER=1.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { chromium, type Browser, type Page } from 'playwright-core';
import { readPngTextEntry } from '../../src/cli/png-text.js';
import { startTestServer, type TestServer } from './server-helpers.js';

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const skip = !existsSync(executablePath) && process.env.ACCD_REQUIRE_BROWSER !== '1' ? `no Chromium at ${executablePath} (apt-get install chromium)` : false;

describe('serve: upscaling from the page in Chromium', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let dir = '';
  before(async () => {
    server = await startTestServer({ previewInterval: 0 });
    dir = mkdtempSync(join(tmpdir(), 'accd-upload-'));
    // 120×88, a gradient: 2× is 240×176, a size the text-to-image presets never make
    const w = 120, h = 88;
    const rgb = Buffer.alloc(w * h * 3);
    for (let i = 0; i < w * h; i++) rgb.set([(i % w) * 2, Math.floor(i / w) * 2, 128], i * 3);
    await sharp(rgb, { raw: { width: w, height: h, channels: 3 } }).png().toFile(join(dir, 'gradient.png'));
    browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(Number(process.env.ACCD_PAGE_TIMEOUT ?? 90_000));
    await page.goto(server.url);
    await page.waitForSelector('#f-model option[value="tiny-sdxl"]', { state: 'attached' });
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('upscales a chosen PNG to 2× its size and shows the final image', async () => {
    assert.equal(await page.isVisible('.field-strength'), false, 'strength shows only with an image');
    await page.selectOption('#f-model', 'tiny-sdxl');
    await page.selectOption('#f-method', 'demofusion');
    await page.fill('#f-prompt', '');
    await page.selectOption('#f-scale', '2');
    await page.fill('#f-steps', '2');
    await page.fill('#f-seed', '5');
    await page.setChecked('#f-random-seed', false);
    await page.setInputFiles('#f-image', join(dir, 'gradient.png'));
    await page.waitForSelector('.field-strength:not([hidden])');
    assert.equal(await page.inputValue('#f-strength'), '0.5');
    await page.fill('#f-strength', '0.4');
    assert.equal(await page.textContent('#size-note'), '240×176 px');
    assert.equal(await page.textContent('#generate'), 'Upscale');
    await page.click('#generate');
    await page.waitForSelector('#result:not([hidden])');
    await page.waitForFunction(() => (document.getElementById('result-img') as HTMLImageElement).naturalWidth === 240);
    assert.equal(await page.evaluate(() => (document.getElementById('result-img') as HTMLImageElement).naturalHeight), 176);
    const jobs = await page.evaluate(async () => (await (await fetch('/api/jobs')).json()) as Array<{ state: string; result?: { file: string } }>);
    assert.equal(jobs.length, 1);
    assert.equal(jobs[0]!.state, 'done');
    const params = readPngTextEntry(readFileSync(join(server.outputs, jobs[0]!.result!.file)), 'parameters')!;
    assert.match(params, /Denoising strength: 0\.4, Input image: gradient\.png, .*Input size: 120x88$/);
  });
});
