// PNG text chunks and the A1111 parameters text (src/cli/png-text.ts, src/cli/parameters.ts).
import test from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { crc32, insertPngText, readPngText, readPngTextEntry, textChunk } from '../../src/cli/png-text.js';
import { formatParameters, parseParameters, samplerName } from '../../src/cli/parameters.js';
import { encodePng } from '../../src/cli/outputs.js';
import { resolveOptions } from '../../src/options/index.js';
import { patternImage } from './fake-result.js';

test('crc32 matches the standard check value and a PNG IEND chunk', () => {
  assert.equal(crc32(Buffer.from('123456789', 'latin1')), 0xcbf43926);
  assert.equal(crc32(Buffer.from('IEND', 'latin1')), 0xae426082);
});

test('tEXt chunk layout: length, type, keyword NUL text, CRC', () => {
  const c = textChunk('parameters', 'abc');
  assert.equal(c.readUInt32BE(0), 'parameters'.length + 1 + 3);
  assert.equal(c.toString('latin1', 4, 8), 'tEXt');
  assert.equal(c.toString('latin1', 8, 8 + 14), 'parameters\0abc');
  assert.equal(c.readUInt32BE(c.length - 4), crc32(c.subarray(4, c.length - 4)));
  assert.equal(textChunk('k', 'naïve').toString('latin1', 4, 8), 'tEXt', 'Latin-1 text stays tEXt');
  assert.equal(textChunk('k', 'a 猫 ✓').toString('latin1', 4, 8), 'iTXt', 'non-Latin-1 text goes to iTXt');
  assert.throws(() => textChunk('', 'x'), RangeError);
});

test('parameters round-trip through a sharp PNG; sharp reads the chunk and the pixels are unchanged', async () => {
  const img = patternImage(40, 24, 5);
  const text = 'a red circle, a blue square\nNegative prompt: blurry, ugly\nSteps: 50, Sampler: Euler, CFG scale: 7.5, Seed: 42';
  const png = await encodePng(img, { parameters: text });
  assert.equal(readPngTextEntry(png, 'parameters'), text);
  const meta = await sharp(png).metadata();
  assert.equal(meta.width, 40);
  assert.equal(meta.height, 24);
  assert.deepEqual(meta.comments, [{ keyword: 'parameters', text }]);
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.channels, 3);
  assert.ok(Buffer.from(img.rgb).equals(data), 'lossless pixels');

  // UTF-8 prompt through iTXt, next to another entry; order is kept.
  const png2 = insertPngText(await encodePng(img), { parameters: '一只猫 ✓', Software: 'accdiffusion' });
  assert.deepEqual(readPngText(png2), [{ keyword: 'parameters', text: '一只猫 ✓' }, { keyword: 'Software', text: 'accdiffusion' }]);
  assert.equal((await sharp(png2).metadata()).width, 40);
});

test('readPngText rejects non-PNG and truncated chunks', () => {
  assert.throws(() => readPngText(Buffer.from('not a png at all')), /not a PNG/);
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const bad = Buffer.concat([sig, Buffer.from([0, 0, 1, 0]), Buffer.from('tEXt'), Buffer.alloc(10)]);
  assert.throws(() => readPngText(bad), /runs past the end/);
});

test('A1111 parameters text: layout, quoting, and parse back', () => {
  const opts = resolveOptions({ prompt: 'a red circle, a blue square', width: 2048, height: 1024, seed: 7, steps: 30 }, 128);
  const { initLatents: _i, ...options } = opts;
  const text = formatParameters({ options, model: 'shapes-xl', modelSchedulerClass: 'EulerDiscreteScheduler', version: 'accdiffusion 0.1.0' });
  const lines = text.split('\n');
  assert.equal(lines[0], 'a red circle, a blue square');
  assert.equal(lines[1], 'Negative prompt: blurry, ugly, duplicate, poorly drawn, deformed, mosaic');
  assert.ok(lines[2]!.startsWith('Steps: 30, Sampler: Euler, CFG scale: 7.5, Seed: 7, Size: 2048x1024, Model: shapes-xl, Method: accdiffusion, '), lines[2]);
  assert.match(lines[2]!, /c: 0\.3, Stride: 64, View batch size: 16, Cosine scale 1: 3, Cosine scale 2: 1, Cosine scale 3: 1, Sigma: 0\.8, Patch prompts: True, Window interaction: True, Reference compat: False, Version: accdiffusion 0\.1\.0$/);
  const back = parseParameters(text);
  assert.equal(back.prompt, 'a red circle, a blue square');
  assert.equal(back.negativePrompt, 'blurry, ugly, duplicate, poorly drawn, deformed, mosaic');
  assert.equal(back.values.get('Seed'), '7');
  assert.equal(back.values.get('Size'), '2048x1024');
  assert.equal(back.values.get('Multi CFG scale'), '7.5');

  // No negative prompt → no line; a model name with a colon is quoted as A1111 does.
  const none = formatParameters({ options: { ...options, negativePrompt: null, scheduler: 'ddim' }, model: 'C:models' });
  assert.equal(none.split('\n').length, 2);
  assert.match(none, /Sampler: DDIM/);
  assert.match(none, /Model: "C:models"/);
  assert.equal(parseParameters(none).values.get('Model'), 'C:models');
  assert.equal(parseParameters(none).negativePrompt, null);
  // --no-prompt-weighting: A1111's name for reading brackets literally
  assert.match(formatParameters({ options: { ...options, promptWeighting: false }, model: 'm' }), /Reference compat: False, Emphasis: None$/);
  assert.equal(samplerName(undefined, 'DDIMScheduler'), 'DDIM');
  assert.equal(samplerName(undefined, 'LMSDiscreteScheduler'), 'LMSDiscreteScheduler');
});
