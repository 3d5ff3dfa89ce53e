#!/usr/bin/env node
// Hashes of a fixed matrix of CLI runs (issue 10's "reproduced bit for bit" check): all six methods on both
// fixture models and the bundled one, square and non-square, plus schedulers, img2img and the ablation switches.
// Every run writes its PNG, latents and report; the report is hashed without timings, memory and the model's
// absolute path, so two checkouts of the same code give the same JSON.
//
//   node scripts/hash-matrix.mjs record <out.json> [--only <substr>]   (run from a built checkout)
//   node scripts/hash-matrix.mjs compare <before.json> <after.json>
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = resolve(new URL('..', import.meta.url).pathname);
const MODELS = {
  'tiny-sd': 'test/fixtures/models/tiny-sd',
  'tiny-sdxl': 'test/fixtures/models/tiny-sdxl',
  'shapes-xl': 'models/shapes-xl',
};
const METHODS = ['accdiffusion', 'demofusion', 'multidiffusion', 'direct', 'attn-sf', 'scalecrafter'];
const SHAPES = { square: ['--scale', '2'], wide: ['--width', '384', '--height', '256'] };

function cases() {
  const list = [];
  for (const [model, path] of Object.entries(MODELS)) {
    // the bundled model's native size is 512 px: its non-square case is 768x512
    const shapes = model === 'shapes-xl' ? { ...SHAPES, wide: ['--width', '768', '--height', '512'] } : SHAPES;
    for (const method of METHODS) {
      for (const [shape, size] of Object.entries(shapes)) {
        list.push({ name: `${model}/${method}/${shape}`, args: ['generate', '--model', path, '--method', method, ...size] });
      }
    }
  }
  const sdxl = MODELS['tiny-sdxl'];
  const acc = ['generate', '--model', sdxl, '--method', 'accdiffusion', '--scale', '3'];
  for (const s of ['ddim', 'euler-a', 'dpmpp-2m-karras', 'unipc']) list.push({ name: `tiny-sdxl/accdiffusion/3x/${s}`, args: [...acc, '--scheduler', s] });
  list.push({ name: 'tiny-sdxl/accdiffusion/3x/guidance-1', args: [...acc, '--guidance', '1'] });
  list.push({ name: 'tiny-sdxl/accdiffusion/3x/no-patch-prompts', args: [...acc, '--no-patch-prompts', '--stride', '8'] });
  list.push({ name: 'tiny-sdxl/accdiffusion/3x/no-window-interaction', args: [...acc, '--no-window-interaction', '--view-batch-size', '3'] });
  list.push({ name: 'tiny-sdxl/accdiffusion/3x/reference-compat', args: [...acc, '--reference-compat', '--no-prompt-weighting', '--c', '0.5'] });
  list.push({ name: 'tiny-sd/accdiffusion/weighted', args: ['generate', '--model', MODELS['tiny-sd'], '--scale', '2', '--prompt-override', '(a red:1.3) circle [square]'] });
  for (const method of ['accdiffusion', 'demofusion', 'direct']) {
    list.push({ name: `tiny-sdxl/upscale/${method}`, args: ['upscale', '--model', sdxl, '--method', method, '--image', 'docs/images/upscale-input.png', '--width', '512', '--height', '384', '--strength', '0.6'] });
  }
  return list;
}

async function runCase(c, dir) {
  const base = join(dir, c.name.replaceAll('/', '_'));
  const args = [...c.args];
  let prompt = 'a red circle and a blue square on a gray background';
  const po = args.indexOf('--prompt-override');
  if (po >= 0) { prompt = args[po + 1]; args.splice(po, 2); }
  const full = [join(root, 'bin/accdiffusion.js'), ...args, '--prompt', prompt, '--steps', '3', '--seed', '7', '--threads', '1',
    '--out', `${base}.png`, '--save-latents', `${base}.safetensors`, '--report', `${base}.json`, '--quiet', '--force'];
  await run(process.execPath, full, { cwd: root, maxBuffer: 1 << 24 });
  const sha = (buf) => createHash('sha256').update(buf).digest('hex').slice(0, 16);
  const report = JSON.parse(readFileSync(`${base}.json`, 'utf8'), (k, v) => (k === 'seconds' || k === 'peakRssBytes' ? undefined : v));
  report.model = String(report.model).split('/').pop();
  return { png: sha(readFileSync(`${base}.png`)), latents: sha(readFileSync(`${base}.safetensors`)), report: sha(JSON.stringify(report)) };
}

async function record(out, only) {
  const dir = mkdtempSync(join(tmpdir(), 'hash-matrix-'));
  const todo = cases().filter((c) => !only || c.name.includes(only));
  const result = {};
  let next = 0;
  const worker = async () => {
    while (next < todo.length) {
      const c = todo[next++];
      try {
        result[c.name] = await runCase(c, dir);
      } catch (e) {
        result[c.name] = { error: String(e.stderr || e.message).trim().split('\n').pop() };
      }
      process.stderr.write(`${c.name}: ${JSON.stringify(result[c.name])}\n`);
    }
  };
  await Promise.all([worker(), worker()]);
  const sorted = Object.fromEntries(Object.keys(result).sort().map((k) => [k, result[k]]));
  writeFileSync(out, JSON.stringify(sorted, null, 1) + '\n');
  rmSync(dir, { recursive: true, force: true });
}

function compare(a, b) {
  const before = JSON.parse(readFileSync(a, 'utf8'));
  const after = JSON.parse(readFileSync(b, 'utf8'));
  let differ = 0;
  for (const name of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const x = JSON.stringify(before[name]);
    const y = JSON.stringify(after[name]);
    if (x !== y) { differ++; console.log(`DIFFERS ${name}\n  before ${x}\n  after  ${y}`); }
  }
  console.log(`${Object.keys(before).length} cases before, ${Object.keys(after).length} after, ${differ} differ`);
  process.exitCode = differ ? 1 : 0;
}

const [cmd, x, y, flag, only] = process.argv.slice(2);
if (cmd === 'record' && x) await record(x, flag === '--only' ? only : y === '--only' ? flag : undefined);
else if (cmd === 'compare' && x && y) compare(x, y);
else { console.error('usage: hash-matrix.mjs record <out.json> [--only <substr>] | compare <before.json> <after.json>'); process.exitCode = 2; }
