/** The upscale command's image reading: formats, bit depths, alpha flattening, EXIF orientation, errors. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { INPUT_BACKGROUND, readInputImage } from '../../src/sampling/input-image.js';
import { OptionsError } from '../../src/errors.js';
import { tempDir } from '../cli/e2e-helpers.js';

/** A 6x4 RGB test pattern: pixel (x, y) = (40x, 60y, 200). */
function pattern(): Buffer {
  const b = Buffer.alloc(6 * 4 * 3);
  for (let y = 0; y < 4; y++) for (let x = 0; x < 6; x++) b.set([40 * x, 60 * y, 200], (y * 6 + x) * 3);
  return b;
}
const raw = { raw: { width: 6, height: 4, channels: 3 as const } };

test('readInputImage: 8-bit, 16-bit, palette and grey PNGs, WebP (lossless) give the same 8-bit RGB', async () => {
  const { dir, remove } = tempDir('input-image-');
  try {
    const want = pattern();
    const files: Record<string, Buffer> = {
      'rgb8.png': await sharp(want, raw).png().toBuffer(),
      'rgb16.png': await sharp(want, raw).toColourspace('rgb16').png().toBuffer(),
      'palette.png': await sharp(want, raw).png({ palette: true, colours: 256, dither: 0 }).toBuffer(),
      'lossless.webp': await sharp(want, raw).webp({ lossless: true }).toBuffer(),
    };
    for (const [name, bytes] of Object.entries(files)) {
      writeFileSync(join(dir, name), bytes);
      const r = await readInputImage(join(dir, name));
      assert.equal(r.image.width, 6, name);
      assert.equal(r.image.height, 4, name);
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(r.image.rgb[i]! - want[i]!));
      assert.ok(worst <= (name === 'palette.png' ? 8 : 1), `${name}: off by ${worst}`);
      assert.equal(r.name, name);
      assert.match(r.sha256, /^[0-9a-f]{64}$/);
    }
    // grey: three equal channels
    writeFileSync(join(dir, 'grey.png'), await sharp(Buffer.from([0, 100, 200, 255]), { raw: { width: 2, height: 2, channels: 1 } }).png().toBuffer());
    const g = await readInputImage(join(dir, 'grey.png'));
    assert.deepEqual([...g.image.rgb], [0, 0, 0, 100, 100, 100, 200, 200, 200, 255, 255, 255]);
  } finally {
    remove();
  }
});

test(`readInputImage: alpha is flattened onto ${INPUT_BACKGROUND}; JPEG EXIF orientation is applied`, async () => {
  const { dir, remove } = tempDir('input-image-');
  try {
    // transparent red next to opaque red
    const rgba = Buffer.from([255, 0, 0, 0, 255, 0, 0, 255]);
    writeFileSync(join(dir, 'alpha.png'), await sharp(rgba, { raw: { width: 2, height: 1, channels: 4 } }).png().toBuffer());
    assert.deepEqual([...(await readInputImage(join(dir, 'alpha.png'))).image.rgb], [255, 255, 255, 255, 0, 0]);
    // a 6x4 JPEG tagged orientation 6 (rotate 90° clockwise to display) reads as 4x6
    writeFileSync(join(dir, 'rot.jpg'), await sharp(pattern(), raw).jpeg({ quality: 100, chromaSubsampling: '4:4:4' }).withMetadata({ orientation: 6 }).toBuffer());
    const r = await readInputImage(join(dir, 'rot.jpg'));
    assert.deepEqual([r.image.width, r.image.height], [4, 6]);
    // top-left after the rotation is the original's bottom-left (x=0, y=3): (0, 180, 200); the other
    // rotation would put the top-right (200, 0, 200) there (JPEG blurs colours a little)
    assert.ok(Math.abs(r.image.rgb[1]! - 180) <= 30 && r.image.rgb[0]! <= 40, `${[...r.image.rgb.subarray(0, 3)]}`);
  } finally {
    remove();
  }
});

test('readInputImage: a missing or undecodable file is one OptionsError line', async () => {
  const { dir, remove } = tempDir('input-image-');
  try {
    await assert.rejects(readInputImage(join(dir, 'nope.png')), (e: Error) => e instanceof OptionsError && /cannot read/.test(e.message) && !e.message.includes('\n'));
    writeFileSync(join(dir, 'bad.png'), 'not an image');
    await assert.rejects(readInputImage(join(dir, 'bad.png')), (e: Error) => e instanceof OptionsError && /bad\.png is not an image/.test(e.message) && !e.message.includes('\n'));
  } finally {
    remove();
  }
});
