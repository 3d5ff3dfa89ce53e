/// <reference lib="dom" />
/**
 * The web page driven in headless Chromium (Debian's `chromium`, through playwright-core; issue 15 "done
 * means"): load, fill the form, generate on the tiny SDXL fixture with progress and the final image, steer a
 * window prompt after the native pass and see it used, reload settings from a PNG and from the gallery,
 * errors as messages, and cancelling a run mid-way with a tab closed meanwhile. Without a Chromium the tests
 * are skipped unless ACCD_REQUIRE_BROWSER=1 (.ci/run sets it and installs the package).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { chromium, type Browser, type Page } from 'playwright-core';
import { readPngTextEntry } from '../../src/cli/png-text.js';
import type { JobSummary } from '../../src/server/job.js';
import { startTestServer, type TestServer } from './server-helpers.js';

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveBrowser = existsSync(executablePath);
const skip = !haveBrowser && process.env.ACCD_REQUIRE_BROWSER !== '1' ? `no Chromium at ${executablePath} (apt-get install chromium)` : false;

async function jobs(page: Page): Promise<JobSummary[]> {
  return page.evaluate(async () => (await (await fetch('/api/jobs')).json()) as JobSummary[]);
}

async function fillForm(page: Page, prompt: string, steps: number, review: boolean): Promise<void> {
  await page.selectOption('#f-model', 'tiny-sdxl');
  await page.fill('#f-prompt', prompt);
  await page.selectOption('#f-scale', '2');
  await page.fill('#f-steps', String(steps));
  await page.fill('#f-seed', '7');
  await page.setChecked('#f-random-seed', false);
  await page.setChecked('#f-review', review);
}

const pngFiles = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.png')).sort();

describe('serve: the page in Chromium', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let plainFile = '';
  let steeredFile = '';
  const prompt = 'a red circle and a blue square';

  before(async () => {
    server = await startTestServer({ previewInterval: 0 });
    browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(Number(process.env.ACCD_PAGE_TIMEOUT ?? 90_000));
    await page.goto(server.url);
    await page.waitForSelector('#f-model option[value="tiny-sdxl"]', { state: 'attached' });
    // Every progress line the page shows, and every preview it loads.
    await page.evaluate(() => {
      const w = window as unknown as { progressLog: string[]; previews: string[] };
      w.progressLog = [];
      w.previews = [];
      new MutationObserver(() => w.progressLog.push(document.getElementById('progress-text')!.textContent ?? ''))
        .observe(document.getElementById('progress-text')!, { childList: true, characterData: true, subtree: true });
      new MutationObserver(() => w.previews.push((document.getElementById('preview') as HTMLImageElement).src))
        .observe(document.getElementById('preview')!, { attributes: true, attributeFilter: ['src'] });
    });
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('shows the form with the CLI\'s defaults and help', async () => {
    assert.equal(await page.inputValue('#f-method'), 'accdiffusion');
    assert.equal(await page.inputValue('#f-steps'), '50');
    assert.equal(await page.inputValue('#f-c'), '0.3');
    assert.match(await page.textContent('.field-sigma .help') ?? '', /Gaussian blur std before dilated sampling \(default 0\.8\)\s+\(--sigma\)/);
    assert.match(await page.textContent('#method-help') ?? '', /per-window prompts/);
  });

  it('shows a user error as a message and keeps working', async () => {
    await fillForm(page, '', 2, false);
    await page.click('#generate');
    await page.waitForSelector('#message:not([hidden])');
    assert.match(await page.textContent('#message') ?? '', /Prompt must not be empty/);
    assert.deepEqual(await jobs(page), []);
  });

  it('generates on a fixture model with progress, live preview, stage images and the final image', async () => {
    await fillForm(page, prompt, 2, false);
    await page.click('#generate');
    await page.waitForSelector('#result:not([hidden])');
    await page.waitForFunction(() => (document.getElementById('result-img') as HTMLImageElement).naturalWidth === 512);
    const log = await page.evaluate(() => (window as unknown as { progressLog: string[] }).progressLog);
    assert.ok(log.some((l) => /^stage 1\/2 · step [12]\/2 · .* elapsed · /.test(l)), log.join('\n'));
    // progress reaches the page at most every 200 ms, so which step's batches it shows depends on the machine's speed
    assert.ok(log.some((l) => /^stage 2\/2 · step [0-2]\/2 · window batch \d+\/\d+ \((patch|dilated)\)/.test(l)), log.join('\n'));
    assert.ok(log.some((l) => /about .* left/.test(l)), 'an estimate of the time left');
    const previews = await page.evaluate(() => (window as unknown as { previews: string[] }).previews);
    assert.ok(previews.length >= 2, `previews: ${previews.length}`);
    const [job] = await jobs(page);
    assert.equal(job!.state, 'done');
    assert.deepEqual(job!.stageImages.map((s) => [s.stage, s.width]).sort(), [[1, 256], [2, 512]]);
    assert.equal(await page.locator('#stage-images img').count(), 2);
    // The masks and window grid are shown even without steering.
    assert.equal(await page.locator('#window-grid rect').count(), 9);
    assert.equal(job!.result!.windowPrompts, undefined, 'nothing recorded when nobody chose window prompts');
    plainFile = job!.result!.file;
    assert.deepEqual(pngFiles(server.outputs), [plainFile]);
    const params = readPngTextEntry(readFileSync(join(server.outputs, plainFile)), 'parameters')!;
    assert.match(params, /^a red circle and a blue square\n/);
    assert.match(params, /Steps: 2, Sampler: \w+, CFG scale: 7.5, Seed: 7, Size: 512x512, Model: tiny-sdxl, Method: accdiffusion/);
    assert.match(await page.textContent('#result-params') ?? '', /Seed: 7/);
    assert.equal(await page.getAttribute('#download', 'href'), `/outputs/${plainFile}?download`);
  });

  it('lets the user edit a window prompt after the native pass, and uses it', async () => {
    await fillForm(page, prompt, 2, true);
    await page.click('#generate');
    await page.waitForSelector('#continue:not([hidden])');
    const [job] = (await jobs(page)).filter((j) => j.state === 'review');
    assert.ok(job, 'a job waits for window prompts');
    // Masks per word, toggled; the window grid with each window's words on hover.
    const toggles = page.locator('#mask-toggles input');
    assert.equal(await toggles.count(), job.review!.masks.length);
    assert.ok(job.review!.masks.length > 0);
    assert.equal(await page.locator('#mask-layers img[data-token="1"]').isVisible(), false);
    await toggles.first().check();
    assert.equal(await page.locator('#mask-layers img[data-token="1"]').isVisible(), true);
    const computed = job.review!.stages[0]!.prompts;
    // Windows overlap; the pointer at a window's centre picks that window.
    await page.hover('#window-grid rect[data-window="4"]', { force: true });
    assert.equal(await page.textContent('#window-tip'), `window 4: ${computed[4] || '(empty prompt)'}`);
    assert.equal(await page.inputValue('#wp-2-0'), computed[0]);
    const edited = 'a blue square';
    assert.notEqual(computed[0], edited);
    await page.click('#window-grid rect[data-window="0"]', { force: true });
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'wp-2-0', 'a click on a window opens its prompt');
    await page.fill('#wp-2-0', edited);
    await page.click('#continue');
    await page.waitForFunction((n) => document.querySelectorAll('#queue .state-done').length === n, 2);
    const done = (await jobs(page)).find((j) => j.id === job.id)!;
    assert.deepEqual(done.result!.windowPrompts, { 2: [edited, ...computed.slice(1)] });
    assert.deepEqual(done.result!.stagePrompts[0]!.prompts, [edited, ...computed.slice(1)]);
    steeredFile = done.result!.file;
    const report = JSON.parse(readFileSync(join(server.outputs, steeredFile.replace(/\.png$/, '.json')), 'utf8'));
    assert.equal(report.options.windowPrompts['2'][0], edited);
    assert.equal(report.stages[1].windowPrompts[0], edited);
    assert.match(readPngTextEntry(readFileSync(join(server.outputs, steeredFile)), 'parameters')!, /Window prompts: "\{\\"2\\":\[\\"a blue square\\"/);
    // Same seed and settings, one window's words changed: the image changed.
    const a = await sharp(join(server.outputs, plainFile)).raw().toBuffer();
    const b = await sharp(join(server.outputs, steeredFile)).raw().toBuffer();
    assert.equal(a.length, b.length);
    assert.ok(!a.equals(b), 'the edited window prompt changed the image');
    // ... in the first window's part most (window 0 covers the top-left 256×256 px of the 512×512 image).
    const diff = (x0: number, y0: number) => {
      let d = 0;
      for (let y = y0; y < y0 + 128; y++) for (let x = x0; x < x0 + 128; x++) for (let c = 0; c < 3; c++) d += Math.abs(a[(y * 512 + x) * 3 + c]! - b[(y * 512 + x) * 3 + c]!);
      return d;
    };
    assert.ok(diff(0, 0) > diff(384, 384), `top-left ${diff(0, 0)} vs bottom-right ${diff(384, 384)}`);
  });

  it('reloads settings from a PNG and from the gallery', async () => {
    await fillForm(page, 'something else', 30, false);
    await page.setInputFiles('#png-file', join(server.outputs, steeredFile));
    await page.waitForFunction(() => (document.getElementById('f-prompt') as HTMLTextAreaElement).value === 'a red circle and a blue square');
    assert.equal(await page.inputValue('#f-steps'), '2');
    assert.equal(await page.inputValue('#f-seed'), '7');
    assert.equal(await page.inputValue('#f-scale'), 'custom');
    assert.equal(await page.inputValue('#f-width'), '512');
    assert.equal(await page.isVisible('#window-prompts-note'), true, 'the steered prompts come along');
    await fillForm(page, 'something else', 30, false);
    await page.click('nav .tab[data-tab="gallery"]');
    await page.waitForSelector(`#gallery [data-file="${plainFile}"]`);
    assert.equal(await page.locator('#gallery .gallery-item').count(), 2);
    await page.click(`#gallery [data-file="${plainFile}"] button:text("Use these settings")`);
    assert.equal(await page.inputValue('#f-prompt'), prompt);
    assert.equal(await page.inputValue('#f-steps'), '2');
    assert.equal(await page.isVisible('#window-prompts-note'), false);
  });

  it('cancels a run mid-way, keeps nothing, and survives a closed tab', async () => {
    const before = pngFiles(server.outputs);
    // A second tab starts a long run and is closed; the first tab sees it and cancels it.
    const other = await browser.newPage();
    await other.goto(server.url);
    await other.waitForSelector('#f-model option[value="tiny-sdxl"]', { state: 'attached' });
    await fillForm(other, prompt, 200, false);
    await other.click('#generate');
    await other.waitForSelector('#job[data-state="running"]');
    await other.close();
    await page.click('nav .tab[data-tab="run"]');
    const running = (await jobs(page)).find((j) => j.state === 'running' || j.state === 'loading')!;
    assert.ok(running, 'the closed tab\'s job still runs');
    await page.click(`#queue [data-job="${running.id}"]`);
    await page.waitForFunction(() => /step [1-9]\d*\/200/.test(document.getElementById('progress-text')!.textContent ?? ''));
    await page.click('#cancel');
    await page.waitForSelector('#job[data-state="cancelled"]');
    assert.equal(await page.textContent('#progress-text'), 'cancelled');
    const job = (await jobs(page)).find((j) => j.id === running.id)!;
    assert.ok(job.progress.step < 200, `stopped at step ${job.progress.step}`);
    assert.deepEqual(pngFiles(server.outputs), before);
    assert.equal(readdirSync(server.outputs).filter((f) => f.endsWith('.tmp')).length, 0);
    assert.equal((await jobs(page)).length, 3, 'the server still answers');
  });
});
