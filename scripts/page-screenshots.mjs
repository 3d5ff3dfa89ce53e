// Screenshots of the web page for the README (docs/images/page-*.png): idle, mid-run with the live preview,
// and a result with its window prompts, on the bundled model, at 1280×800 and on a narrow window.
// Run after `npm run build`: node scripts/page-screenshots.mjs [chromium path]
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startServer } from '../dist/src/server/server.js';

const out = 'docs/images';
const dir = mkdtempSync(join(tmpdir(), 'accd-shots-'));
mkdirSync(join(dir, 'outputs'));
mkdirSync(join(dir, 'hub'));
const server = await startServer({ port: 0, modelRoots: ['models'], outputs: join(dir, 'outputs'), env: { HF_HUB_CACHE: join(dir, 'hub') }, previewInterval: 0.5 });
const browser = await chromium.launch({ executablePath: process.argv[2] ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.setDefaultTimeout(600_000);
  await page.goto(server.url);
  await page.waitForSelector('#f-model option', { state: 'attached' });
  await page.fill('#f-prompt', 'a red circle and a blue square on a gray background');
  await page.selectOption('#f-scale', '3');
  await page.fill('#f-steps', '20');
  await page.check('#f-review');
  await page.evaluate(() => (document.getElementById('settings').scrollTop = 0));
  await page.screenshot({ path: join(out, 'page-idle.png') });

  const narrow = await browser.newPage({ viewport: { width: 420, height: 860 } });
  await narrow.goto(server.url);
  await narrow.waitForSelector('#f-model option', { state: 'attached' });
  await narrow.screenshot({ path: join(out, 'page-narrow.png') });
  await narrow.close();

  await page.click('#generate');
  await page.waitForSelector('#continue:not([hidden])');
  await page.check('#mask-toggles input >> nth=1');
  await page.fill('#wp-2-0', 'a blue square');
  await page.click('#continue');
  await page.waitForFunction(() => /stage 3\/3 · step (\d+)/.test(document.getElementById('progress-text').textContent) && Number(/step (\d+)/.exec(document.getElementById('progress-text').textContent)[1]) >= 14);
  await page.waitForSelector('#preview-fig:not([hidden])');
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(out, 'page-running.png') });

  await page.waitForSelector('#result:not([hidden])');
  await page.waitForFunction(() => document.getElementById('result-img').naturalWidth > 0);
  await page.hover('#window-grid rect[data-window="0"]', { force: true });
  await page.evaluate(() => document.getElementById('steer').scrollIntoView());
  await page.screenshot({ path: join(out, 'page-result.png'), fullPage: true });
  console.log('wrote docs/images/page-idle.png, page-narrow.png, page-running.png, page-result.png');
} finally {
  await browser.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
