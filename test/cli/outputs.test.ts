// Writing the CLI's files (src/cli/outputs.ts): atomic writes, overwrite refusal, stage/mask/patch maps, report, latents.
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { checkStagesDir, maskFileName, patchPromptsSvg, tokenFileName, writeFileAtomic, writeOutputs } from '../../src/cli/outputs.js';
import { readPngTextEntry } from '../../src/cli/png-text.js';
import { OptionsError } from '../../src/errors.js';
import { loadSafetensors } from '../../src/weights/safetensors.js';
import { fakeResult } from './fake-result.js';

const dir = mkdtempSync(join(tmpdir(), 'accd-out-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const noTmp = (d: string) => assert.deepEqual(readdirSync(d).filter((f) => f.endsWith('.tmp')), [], `no .tmp left in ${d}`);

test('writeFileAtomic: writes whole file, leaves no .tmp, refuses an existing file without force', () => {
  const sub = join(dir, 'atomic');
  mkdirSync(sub);
  const f = join(sub, 'a.txt');
  writeFileAtomic(f, 'first', { force: false });
  assert.equal(readFileSync(f, 'utf8'), 'first');
  noTmp(sub);
  assert.throws(() => writeFileAtomic(f, 'second', { force: false }), (e: unknown) => e instanceof OptionsError && /a\.txt already exists \(use --force to overwrite\)$/.test(e.message));
  assert.equal(readFileSync(f, 'utf8'), 'first', 'untouched after refusal');
  noTmp(sub);
  writeFileAtomic(f, 'second', { force: true });
  assert.equal(readFileSync(f, 'utf8'), 'second');
  noTmp(sub);
  // A failing write (target is a folder) cleans up its temporary file too.
  mkdirSync(join(sub, 'd.png'));
  assert.throws(() => writeFileAtomic(join(sub, 'd.png'), 'x', { force: true }));
  noTmp(sub);
});

test('token file names drop BPE markers and odd characters', () => {
  assert.equal(tokenFileName('circle</w>'), 'circle');
  assert.equal(tokenFileName('../x/y</w>'), 'x_y');
  assert.equal(tokenFileName('</w>'), 'token');
  assert.equal(tokenFileName('猫</w>'), '猫');
  assert.equal(maskFileName({ index: 3, token: 'red</w>', mask: new Uint8Array(1), width: 1, height: 1 }), 'mask-3-red.png');
});

test('patch-prompt SVG: one rectangle per window scaled by the VAE factor, prompts escaped', () => {
  const svg = patchPromptsSvg(128, 96, [{ top: 1, left: 2, height: 6, width: 8 }, { top: 0, left: 8, height: 6, width: 8 }], ['a <red> & circle', 'b'], 8);
  assert.equal(svg.match(/<rect /g)?.length, 2);
  assert.match(svg, /<rect x="16" y="8" width="64" height="48"/);
  assert.match(svg, /<tspan [^>]*>a &lt;red&gt; &amp;<\/tspan><tspan [^>]*>circle<\/tspan>/, 'escaped and wrapped at the window width');
  assert.doesNotMatch(svg, /<red>/);
});

test('writeOutputs of a fake result: every file exists with the right size and decodes', async () => {
  const result = fakeResult();
  const out = join(dir, 'final.png');
  const stages = join(dir, 'stages');
  const report = join(dir, 'report.json');
  const latents = join(dir, 'latents.safetensors');
  const files = await writeOutputs(result, { out, parameters: 'p\nSteps: 50', saveStages: stages, report, saveLatents: latents, force: false });

  assert.equal(files[0], out);
  const expected = ['mask-2-red.png', 'mask-6-square.png', 'patch-prompts-stage-2.png', 'stage-1.png', 'stage-2.png'];
  assert.deepEqual(readdirSync(stages).sort(), expected);
  assert.deepEqual(files.slice(1).sort(), [...expected.map((f) => join(stages, f)), latents, report].sort());
  noTmp(dir);
  noTmp(stages);

  // Final PNG: size, pixels and parameters.
  const png = readFileSync(out);
  assert.equal(readPngTextEntry(png, 'parameters'), 'p\nSteps: 50');
  const final = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([final.info.width, final.info.height, final.info.channels], [128, 96, 3]);
  assert.ok(final.data.equals(Buffer.from(result.image.rgb)));

  // Stage images at their own sizes, lossless.
  for (const s of result.stages) {
    const d = await sharp(join(stages, `stage-${s.stage}.png`)).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([d.info.width, d.info.height], [s.image!.width, s.image!.height]);
    assert.ok(d.data.equals(Buffer.from(s.image!.rgb)), `stage ${s.stage} pixels`);
  }

  // Masks: nearest-upscaled ×8 to the stage-1 size (64×48); every pixel equals its mask cell.
  for (const m of result.masks) {
    const file = join(stages, maskFileName(m));
    assert.equal((await sharp(file).metadata()).channels, 1, 'grey PNG');
    const d = await sharp(file).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([d.info.width, d.info.height, d.info.channels], [64, 48, 1]);
    for (let y = 0; y < 48; y++) {
      for (let x = 0; x < 64; x++) {
        assert.equal(d.data[y * 64 + x], m.mask[Math.floor(y / 8) * 8 + Math.floor(x / 8)], `${m.token} at ${x},${y}`);
      }
    }
  }

  // Patch-prompt map: the stage-2 image with window borders drawn on it.
  const map = await sharp(join(stages, 'patch-prompts-stage-2.png')).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([map.info.width, map.info.height, map.info.channels], [128, 96, 3]);
  const stage2 = Buffer.from(result.stages[1]!.image!.rgb);
  assert.ok(!map.data.equals(stage2), 'overlay changed pixels');
  let same = 0;
  for (let i = 0; i < stage2.length; i++) if (map.data[i] === stage2[i]) same++;
  assert.ok(same > stage2.length / 2, `overlay keeps most of the image (${same}/${stage2.length})`);
  // The border of window 1 (left edge at x = 64, from the top) passes through (64, 20): its colour changed.
  const at = (x: number, y: number, b: Buffer) => [...b.subarray((y * 128 + x) * 3, (y * 128 + x) * 3 + 3)];
  assert.notDeepEqual(at(64, 20, map.data), at(64, 20, stage2));

  // Report JSON equals the result's report.
  assert.deepEqual(JSON.parse(readFileSync(report, 'utf8')), JSON.parse(JSON.stringify(result.report)));

  // Latents: `latents` = final, stage_1 and stage_2 with their shapes and values.
  const t = loadSafetensors(latents);
  assert.deepEqual([...t.keys()].sort(), ['latents', 'stage_1', 'stage_2']);
  assert.deepEqual(t.get('latents')!.shape, [1, 4, 12, 16]);
  assert.deepEqual(t.get('stage_1')!.shape, [1, 4, 6, 8]);
  assert.deepEqual([...t.get('latents')!.data as Float32Array], [...result.stages[1]!.latents.data]);
  assert.deepEqual([...t.get('stage_1')!.data as Float32Array], [...result.stages[0]!.latents.data]);

  // A second run without --force is refused before anything changes; stage files are checked up front.
  const before = readFileSync(out);
  await assert.rejects(writeOutputs(result, { out, force: false }), OptionsError);
  assert.ok(readFileSync(out).equals(before));
  assert.throws(() => checkStagesDir(stages, { force: false }), (e: unknown) => e instanceof OptionsError && /--save-stages: .*already exists/.test(e.message));
  checkStagesDir(stages, { force: true });
  checkStagesDir(join(dir, 'not-yet'), { force: false });
  writeFileSync(join(dir, 'other'), '');
  await writeOutputs(result, { out, saveStages: stages, report, saveLatents: latents, force: true });
  assert.ok(existsSync(out));
  noTmp(dir);
});
