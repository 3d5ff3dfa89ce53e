// `upscale` argument parsing and sizes (src/cli/args.ts toUpscale, src/cli/upscale.ts).
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, type UpscaleCommand } from '../../src/cli/args.js';
import { upscaleSize, withInputParameters } from '../../src/cli/upscale.js';
import { OptionsError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'accd-upargs-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'photo.jpg'), 'x');

const up = (...args: string[]): UpscaleCommand => {
  const r = parseArgs(['upscale', '--image', 'photo.jpg', ...args], { cwd: dir });
  assert.equal(r.command, 'upscale');
  return r as UpscaleCommand;
};
const rejects = (args: string[], message: RegExp): void => {
  assert.throws(() => parseArgs(['upscale', ...args], { cwd: dir }), (e: unknown) => e instanceof OptionsError && message.test(e.message) && !e.message.includes('\n'));
};

test('upscale: defaults (scale 2 of the input, out <name>-upscaled.png, strength left to the library), generate flags pass through', () => {
  const c = up('--prompt', 'a dog', '--steps', '7', '--method', 'demofusion', '--scheduler', 'euler');
  assert.equal(c.image, join(dir, 'photo.jpg'));
  assert.deepEqual(c.size, { kind: 'scale', scale: 2 });
  assert.equal(c.out, join(dir, 'photo-upscaled.png'));
  assert.equal(c.strength, undefined);
  assert.equal(c.steps, 7);
  assert.equal(c.scheduler, 'euler');
  assert.equal(up('--prompt', 'a', '--strength', '0.25').strength, 0.25);
  // no prompt is fine for the other methods; any integer size (resized exactly at the end)
  const d = up('--method', 'direct', '--width', '130', '--height', '91');
  assert.equal(d.prompt, '');
  assert.deepEqual(d.size, { kind: 'pixels', width: 130, height: 91 });
});

test('upscale: one error line for a missing image, a bad strength, accdiffusion without a prompt, --init-latents', () => {
  rejects(['--prompt', 'a'], /--image/);
  rejects(['--image', 'photo.jpg', '--prompt', 'a', '--strength', '1.5'], /--strength/);
  rejects(['--image', 'photo.jpg'], /accdiffusion needs --prompt/);
  rejects(['--image', 'photo.jpg', '--prompt', '  '], /accdiffusion needs --prompt/);
  rejects(['--image', 'photo.jpg', '--prompt', 'a', '--init-latents', 'photo.jpg'], /--init-latents does not apply/);
});

test('upscaleSize: target from the input, run size at the nearest multiples of 8', () => {
  const input = { width: 333, height: 250, rgb: new Uint8Array(0) };
  assert.deepEqual(upscaleSize({ kind: 'scale', scale: 2 }, input, 256, false), { width: 666, height: 500, runWidth: 664, runHeight: 504 });
  assert.deepEqual(upscaleSize({ kind: 'pixels', width: 5, height: 3 }, input, 256, false), { width: 5, height: 3, runWidth: 8, runHeight: 8 });
  assert.throws(() => upscaleSize({ kind: 'scale', scale: 40 }, input, 256, false), /very large/);
});

test('withInputParameters appends strength, the input name (quoted when needed), hash and size', () => {
  const t = withInputParameters('p\nSteps: 2', { name: 'a, b.png', sha256: 'ab', image: { width: 3, height: 2, rgb: new Uint8Array(0) } }, 0.5);
  assert.equal(t, 'p\nSteps: 2, Denoising strength: 0.5, Input image: "a, b.png", Input image SHA256: ab, Input size: 3x2');
});
