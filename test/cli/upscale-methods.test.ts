/**
 * `upscale` end to end on the fixture models: every method × {square, non-square, tiny, large} input
 * (in process, one loaded pipeline per model, 2 steps), the exact output size, the PNG metadata and the
 * report's stage sizes; AccDiffusion without a prompt is one error line. (The VAE-round-trip invariant needs a
 * trained VAE: test/cli/upscale-roundtrip.test.ts.)
 */
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { main, type LoadPipelineFn } from '../../src/cli/main.js';
import { readPngTextEntry } from '../../src/cli/png-text.js';
import { METHODS } from '../../src/options/index.js';
import type { Pipeline } from '../../src/pipeline/pipeline-api.js';
import { loadPipeline } from '../../src/pipeline/pipeline.js';
import { maxAbsDiff } from '../../src/tensor/tensor.js';
import { loadSafetensors } from '../../src/weights/safetensors.js';
import { oracleDir, tinySd } from '../helpers/paths.js';
import { runCli, describeRun, tempDir } from './e2e-helpers.js';
import { stringStream } from './string-stream.js';

const loaded = new Map<string, Promise<Pipeline>>();
/** One pipeline per model for the whole file; the CLI's dispose() is a no-op here. */
const sharedLoader: LoadPipelineFn = async (spec, options) => {
  if (!loaded.has(spec)) loaded.set(spec, loadPipeline(spec, { ...options, threads: 1 }));
  const p = await loaded.get(spec)!;
  return { model: p.model, generate: (o, c) => p.generate(o, c), estimate: (o) => p.estimate(o), dispose: async () => {} };
};
after(async () => {
  for (const p of loaded.values()) await (await p).dispose();
});

async function cli(args: string[]): Promise<{ code: number; stderr: string }> {
  const stderr = stringStream();
  const code = await main(args, { stdout: stringStream(), stderr, loadPipeline: sharedLoader });
  return { code, stderr: stderr.text() };
}

/** Writes the fixture input resized to w × h (fill) as a PNG. */
async function inputPng(file: string, w: number, h: number): Promise<void> {
  writeFileSync(file, await sharp(join(oracleDir, 'tiny-sdxl/img2img_input_w256_h192.png')).resize(w, h, { fit: 'fill' }).png().toBuffer());
}

// tiny-sd: native 64 px (latent 32, VAE factor 2)
const INPUTS = [
  { name: 'square', w: 48, h: 48, size: ['--scale', '2'], out: [96, 96] },
  { name: 'non-square', w: 80, h: 48, size: ['--scale', '1.5'], out: [120, 72] },
  { name: 'tiny', w: 7, h: 5, size: ['--width', '130', '--height', '90'], out: [130, 90] },
  { name: 'large', w: 136, h: 96, size: ['--scale', '1'], out: [136, 96] },
];

test('upscale: every method x {square, non-square, tiny, large} input runs from the CLI with the exact output size and the input recorded', async () => {
  const { dir, remove } = tempDir('upscale-methods');
  try {
    for (const input of INPUTS) {
      const png = join(dir, `${input.name}.png`);
      await inputPng(png, input.w, input.h);
      for (const method of METHODS) {
        const out = join(dir, `${input.name}-${method}.png`);
        const report = join(dir, `${input.name}-${method}.json`);
        const r = await cli(['upscale', '--image', png, '--model', tinySd, '--prompt', 'a red disc and a green rectangle', '--method', method,
          ...input.size, '--steps', '2', '--strength', '0.6', '--seed', '3', '--out', out, '--report', report, '--quiet']);
        assert.equal(r.code, 0, `${input.name} ${method}: ${r.stderr}`);
        const meta = await sharp(out).metadata();
        assert.deepEqual([meta.width, meta.height], input.out, `${input.name} ${method}`);
        const text = readPngTextEntry(readFileSync(out), 'parameters')!;
        assert.match(text, new RegExp(`Denoising strength: 0\\.6, Input image: ${input.name}\\.png, Input image SHA256: [0-9a-f]{64}, Input size: ${input.w}x${input.h}`));
        const stages = (JSON.parse(readFileSync(report, 'utf8')) as { stages: Array<{ width: number; height: number }> }).stages;
        const last = stages[stages.length - 1]!;
        // the run size: each side the nearest multiple of 8
        assert.deepEqual([last.width, last.height], input.out.map((v) => Math.max(8, Math.round(v / 8) * 8)), `${input.name} ${method}`);
      }
    }
  } finally {
    remove();
  }
});

test('upscale: accdiffusion without a prompt is one error line (exit 2); the library says the same', async () => {
  const { dir, remove } = tempDir('upscale-noprompt');
  try {
    const png = join(dir, 'in.png');
    await inputPng(png, 32, 32);
    const args = ['upscale', '--image', png, '--model', tinySd, '--out', join(dir, 'o.png')];
    const r = await runCli(args);
    assert.equal(r.code, 2, describeRun(args, r));
    assert.match(r.stderr, /^error: upscale with accdiffusion needs --prompt .*\n$/);
    const p = await sharedLoader(tinySd, {});
    await assert.rejects(p.generate({ prompt: ' ', width: 64, height: 64, image: { width: 1, height: 1, rgb: new Uint8Array(3) } }), (e: Error) => `error: ${e.message}\n` === r.stderr);
  } finally {
    remove();
  }
});

test('upscale --input-residual: stages no larger than the input start from its encoding (demofusion, large input)', async () => {
  const { dir, remove } = tempDir('upscale-residual');
  try {
    const png = join(dir, 'large.png');
    await inputPng(png, 192, 192);
    const run = async (extra: string[], name: string) => {
      const r = await cli(['upscale', '--image', png, '--model', tinySd, '--prompt', 'a red disc', '--method', 'demofusion', '--scale', '1',
        '--steps', '2', '--strength', '0.6', '--seed', '3', '--quiet', '--save-latents', join(dir, `${name}.safetensors`), '--out', join(dir, `${name}.png`), ...extra]);
      assert.equal(r.code, 0, r.stderr);
      return loadSafetensors(join(dir, `${name}.safetensors`));
    };
    const plain = await run([], 'plain');
    const resid = await run(['--input-residual'], 'resid');
    // phase 1 is the same; the stages (all no larger than the 192 px input) differ
    assert.equal(maxAbsDiff(resid.get('stage_1')!.data as Float32Array, plain.get('stage_1')!.data as Float32Array), 0);
    assert.ok(maxAbsDiff(resid.get('latents')!.data as Float32Array, plain.get('latents')!.data as Float32Array) > 1e-3);
  } finally {
    remove();
  }
});

test('upscale --state-dir/--resume: a resumed run gives the same image; another input image is refused', async () => {
  const { dir, remove } = tempDir('upscale-resume');
  try {
    const a = join(dir, 'a.png');
    const b = join(dir, 'b.png');
    await inputPng(a, 48, 48);
    // the same size (so the same options), other pixels: only the image's hash tells the runs apart
    writeFileSync(b, await sharp(readFileSync(a)).flip().png().toBuffer());
    const args = (img: string, out: string, extra: string[] = []) => ['upscale', '--image', img, '--model', tinySd, '--prompt', 'a red disc', '--scale', '2',
      '--steps', '2', '--strength', '0.6', '--quiet', '--state-dir', join(dir, 'state'), '--out', join(dir, out), ...extra];
    assert.equal((await cli(args(a, 'first.png'))).code, 0);
    const resumed = await cli(args(a, 'resumed.png', ['--resume']));
    assert.equal(resumed.code, 0, resumed.stderr);
    const px = async (f: string) => sharp(join(dir, f)).raw().toBuffer();
    assert.ok((await px('first.png')).equals(await px('resumed.png')));
    const other = await cli(args(b, 'other.png', ['--resume']));
    assert.equal(other.code, 2);
    assert.match(other.stderr, /holds the state of a run with other options/);
  } finally {
    remove();
  }
});

test('upscale: every scheduler starts mid-schedule (multistep solvers with an empty history, Euler scaling at the kept steps)', async () => {
  const { dir, remove } = tempDir('upscale-schedulers');
  try {
    const png = join(dir, 'in.png');
    await inputPng(png, 48, 48);
    const seen = new Map<string, string>();
    for (const scheduler of ['ddim', 'euler', 'euler-a', 'dpmpp-2m', 'dpmpp-2m-karras', 'unipc']) {
      for (const method of ['direct', 'accdiffusion']) {
        const out = join(dir, `${scheduler}-${method}.png`);
        // 5 steps at strength 0.6: the run takes steps 2..4 of the schedule, so second-order updates happen
        const r = await cli(['upscale', '--image', png, '--model', tinySd, '--prompt', 'a red disc', '--method', method, '--scheduler', scheduler,
          '--scale', '2', '--steps', '5', '--strength', '0.6', '--seed', '3', '--out', out, '--quiet']);
        assert.equal(r.code, 0, `${scheduler} ${method}: ${r.stderr}`);
        seen.set(`${scheduler} ${method}`, readFileSync(out).toString('base64'));
      }
    }
    const direct = [...seen].filter(([k]) => k.endsWith('direct')).map(([, v]) => v);
    assert.equal(new Set(direct).size, direct.length, 'every scheduler gives its own image');
  } finally {
    remove();
  }
});
