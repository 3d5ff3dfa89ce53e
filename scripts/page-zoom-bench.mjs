// Measures zoom and pan on two linked 4096×4096 images in the page's Compare tab (headless Chromium):
// 120 wheel steps and 60 drag moves, frame intervals from requestAnimationFrame. Run after `npm run build`:
// node scripts/page-zoom-bench.mjs [chromium path] [--gpu]
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { chromium } from 'playwright-core';
import { startServer } from '../dist/src/server/server.js';

const dir = mkdtempSync(join(tmpdir(), 'accd-zoom-'));
const outputs = join(dir, 'outputs');
mkdirSync(outputs);
mkdirSync(join(dir, 'hub'));
const size = 4096;
for (const name of ['a.png', 'b.png']) {
  const rgb = Buffer.alloc(size * size * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 2654435761) >>> 24; // detail everywhere
  await sharp(rgb, { raw: { width: size, height: size, channels: 3 } }).png({ compressionLevel: 1 }).toFile(join(outputs, name));
}
const server = await startServer({ port: 0, modelRoots: [], outputs, env: { HF_HUB_CACHE: join(dir, 'hub') } });
const args = ['--no-sandbox', ...(process.argv.includes('--gpu') ? [] : ['--disable-gpu'])];
const browser = await chromium.launch({ executablePath: process.argv[2]?.startsWith('/') ? process.argv[2] : '/usr/bin/chromium', args });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(server.url);
  await page.click('nav .tab[data-tab="compare"]');
  await page.waitForFunction(() => [...document.querySelectorAll('.compare img')].every((i) => i.naturalWidth === 4096));
  await page.evaluate(() => {
    window.frames_ = [];
    const tick = (t) => { window.frames_.push(t); requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
  });
  const box = await page.locator('#viewer-a').boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  const t0 = Date.now();
  for (let i = 0; i < 120; i++) await page.mouse.wheel(0, i < 80 ? -60 : 60);
  await page.mouse.down();
  for (let i = 0; i < 60; i++) await page.mouse.move(box.x + box.width / 2 + i * 4, box.y + box.height / 2 + i * 2);
  await page.mouse.up();
  const ms = Date.now() - t0;
  const frames = await page.evaluate(() => window.frames_);
  const gaps = frames.slice(1).map((t, i) => t - frames[i]).sort((a, b) => a - b);
  const q = (p) => gaps[Math.min(gaps.length - 1, Math.floor(p * gaps.length))].toFixed(1);
  const linked = await page.evaluate(() => [...document.querySelectorAll('.compare img')].map((i) => i.style.transform));
  const raw = frames.slice(1).map((t, i) => t - frames[i]);
  const long = raw.map((g, i) => [i, Math.round(g)]).filter(([, g]) => g > 50);
  console.log(JSON.stringify({ inputs: 180, ms, frames: frames.length, longFrames: long, medianFrameMs: q(0.5), p95FrameMs: q(0.95), maxFrameMs: q(0.999), linked: linked[0] === linked[1], transform: linked[0] }));
} finally {
  await browser.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
