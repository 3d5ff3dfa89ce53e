/**
 * The page's upscale at the HTTP level: a job whose JSON carries a PNG (base64) on the tiny SDXL fixture ends
 * at exactly scale × the input's size with the strength and input size in its PNG parameters (as the CLI's
 * `upscale`); a non-image upload and accdiffusion without a prompt are refused with one line each; the job
 * body's size limit is named in its message.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { readPngTextEntry } from '../../src/cli/png-text.js';
import type { JobSummary } from '../../src/server/job.js';
import { MAX_JOB_BODY_BYTES } from '../../src/server/http-util.js';
import { checkUpscalePrompt } from '../../src/options/resolve-options.js';
import { scaledSize, runSize } from '../../src/sampling/upscale-size.js';
import { pageHeaders, raw, startTestServer, type TestServer } from './server-helpers.js';

/** A 100×75 PNG: a red left half and a blue right half. */
async function smallPng(): Promise<Buffer> {
  const w = 100, h = 75;
  const rgb = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) rgb.set(x < w / 2 ? [220, 30, 30] : [30, 30, 220], (y * w + x) * 3);
  return sharp(rgb, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer();
}

describe('serve: upscaling the user\'s image', () => {
  let server: TestServer;
  let png: Buffer;
  before(async () => {
    server = await startTestServer();
    png = await smallPng();
  });
  after(async () => server.stop());

  const job = (extra: Record<string, unknown>) =>
    JSON.stringify({ model: 'tiny-sdxl', sizeMode: 'scale', scale: 2, steps: 2, seed: 3, method: 'demofusion', prompt: '', ...extra });
  const post = (body: string | Buffer) => raw(server.port, 'POST', '/api/jobs', pageHeaders(server), body);

  it('shares the CLI\'s size rule: scale × the input, run at multiples of 8', () => {
    assert.deepEqual(scaledSize({ width: 100, height: 75 }, 2), { width: 200, height: 150 });
    assert.deepEqual(runSize(200, 150), { runWidth: 200, runHeight: 152 });
    assert.deepEqual(runSize(3, 3), { runWidth: 8, runHeight: 8 });
  });

  it('upscales a PNG with demofusion to exactly 2× its size and records the strength and input', async () => {
    const r = await post(job({ strength: 0.6, image: { name: 'halves.png', data: png.toString('base64') } }));
    assert.equal(r.status, 200, r.body);
    const id = (JSON.parse(r.body) as JobSummary).id;
    let done: JobSummary | undefined;
    for (let i = 0; i < 1200 && !done; i++) {
      const j = (JSON.parse((await raw(server.port, 'GET', '/api/jobs')).body) as JobSummary[]).find((x) => x.id === id)!;
      if (j.state === 'failed' || j.state === 'cancelled') assert.fail(`job ${j.state}: ${j.error ?? ''}`);
      if (j.state === 'done') done = j;
      else await new Promise((res) => setTimeout(res, 100));
    }
    assert.ok(done, 'the job finished');
    assert.ok(!('image' in done.settings), 'the upload is not echoed in the job\'s settings');
    assert.deepEqual([done.result!.width, done.result!.height], [200, 150]);
    assert.match(done.result!.file, /^halves-upscaled-\d{8}-\d{6}-3\.png$/);
    assert.deepEqual(readdirSync(server.outputs).sort(), [done.result!.file.replace(/\.png$/, '.json'), done.result!.file], 'only the output is written');
    const out = readFileSync(join(server.outputs, done.result!.file));
    const meta = await sharp(out).metadata();
    assert.deepEqual([meta.width, meta.height], [200, 150]);
    const params = readPngTextEntry(out, 'parameters')!;
    assert.match(params, /Method: demofusion/);
    assert.match(params, /Size: 200x152/);
    assert.match(params, /, Denoising strength: 0\.6, Input image: halves\.png, Input image SHA256: [0-9a-f]{64}, Input size: 100x75$/);
    // "use these settings again" reads the strength back
    const back = await raw(server.port, 'POST', '/api/settings-from-parameters', pageHeaders(server), JSON.stringify({ text: params }));
    assert.equal(JSON.parse(back.body).strength, 0.6);
    // the left half stays reddish, the right half bluish: the output is the input upscaled, not a new image
    const { data } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
    const px = (x: number, y: number) => [...data.subarray((y * 200 + x) * 3, (y * 200 + x) * 3 + 3)];
    const [l, rr] = [px(30, 75), px(170, 75)];
    assert.ok(l[0]! > l[2]! && rr[2]! > rr[0]!, `left ${l} right ${rr}`);
  });

  it('refuses a non-image upload with one line', async () => {
    const r = await post(job({ image: { name: 'notes.txt', data: Buffer.from('not an image at all').toString('base64') } }));
    assert.equal(r.status, 400);
    const { error } = JSON.parse(r.body) as { error: string };
    assert.match(error, /^Image to upscale: notes\.txt is not an image sharp can decode \(.+\)$/);
    assert.ok(!error.includes('\n'));
    const shape = await post(job({ image: { name: 'x.png', data: '%%%' } }));
    assert.match(JSON.parse(shape.body).error, /^Image to upscale: expected \{ "name"/);
  });

  it('refuses accdiffusion without a prompt with the library\'s message', async () => {
    const r = await post(job({ method: 'accdiffusion', image: { name: 'halves.png', data: png.toString('base64') } }));
    assert.equal(r.status, 400);
    let expected = '';
    try {
      checkUpscalePrompt('accdiffusion', '');
    } catch (e) {
      expected = (e as Error).message;
    }
    assert.ok(expected.length > 0);
    assert.equal(JSON.parse(r.body).error, expected);
    // without an image an empty prompt is the page's usual refusal
    assert.match(JSON.parse((await post(job({}))).body).error, /Prompt must not be empty/);
  });

  it('names the job body\'s limit when an upload is too large', async () => {
    const r = await raw(server.port, 'POST', '/api/jobs', { ...pageHeaders(server), 'Content-Length': String(MAX_JOB_BODY_BYTES + 1) }, '{}');
    assert.equal(r.status, 413);
    assert.match(JSON.parse(r.body).error, /^request body over 32 MiB \(an image to upscale may have at most 24 MiB\)$/);
  });
});
