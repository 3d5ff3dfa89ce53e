/**
 * Bad arguments through the real binary (issue 5, "Arguments"): `node bin/accdiffusion.js generate ...` as a child
 * process. Every case must end with exit code 2, exactly one `error: ...` line on stderr naming the problem, no
 * stack trace, nothing on stdout and no output file. Runs need `npx tsc -p .` first (the bin imports dist/).
 */
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, tinySdxl } from '../helpers/paths.js';

const bin = join(repoRoot, 'bin', 'accdiffusion.js');
const dir = mkdtempSync(join(tmpdir(), 'accdiffusion-cli-args-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runCli(args: readonly string[], timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

// A malformed model folder (model_index.json cut short, as an interrupted download leaves it) and a folder that is not a model at all.
const badModel = join(dir, 'bad-model');
mkdirSync(badModel);
writeFileSync(join(badModel, 'model_index.json'), '{"_class_name": "StableDiffusionXLPipeline",');
const notAModel = join(dir, 'not-a-model');
mkdirSync(notAModel);
const existing = join(dir, 'existing.png');
writeFileSync(existing, 'not really a png');
const garbageLatents = join(dir, 'garbage.safetensors');
writeFileSync(garbageLatents, Buffer.from('\xff\xff\xff\xff\xff\xff\xff\x7fthis is not a safetensors file', 'latin1'));

const out = join(dir, 'out.png');
const base = ['generate', '--model', tinySdxl, '--prompt', 'a cat', '--quiet'];

/** [name, extra arguments, pattern the error line must match]. */
const CASES: Array<[string, string[], RegExp]> = [
  ['width not a multiple of 8', ['--width', '500', '--height', '512', '--out', out], /--width 500 is not a multiple of 8/],
  ['height not a multiple of 8', ['--width', '512', '--height', '77', '--out', out], /--height 77 is not a multiple of 8/],
  ['zero width', ['--width', '0', '--height', '512', '--out', out], /--width must be a positive integer, got "0"/],
  ['negative width', ['--width', '-8', '--height', '512', '--out', out], /--width must be a positive integer, got "-8"/],
  ['zero scale', ['--scale', '0', '--out', out], /--scale must be a positive number, got "0"/],
  ['negative scale', ['--scale', '-2', '--out', out], /--scale must be a positive number, got "-2"/],
  ['scale off the 8-pixel grid', ['--scale', '1.01', '--out', out], /--scale 1.01 gives .* not a multiple of 8/],
  // 256 px native: 65536² is refused with a memory and a time estimate
  ['absurdly large', ['--width', '65536', '--height', '65536', '--out', out], /65536x65536 is very large .*\d+(\.\d)? GiB of memory.*UNet evaluations per denoising step.*(min|h|days) at .* add --force/],
  ['zero steps', ['--steps', '0', '--out', out], /--steps must be a positive integer, got "0"/],
  ['negative steps', ['--steps', '-3', '--out', out], /--steps must be a positive integer, got "-3"/],
  ['fractional steps', ['--steps', '2.5', '--out', out], /--steps must be a positive integer, got "2.5"/],
  ['more steps than the schedule has', ['--steps', '5000', '--scale', '1', '--out', out], /5000 denoising steps exceed the scheduler's num_train_timesteps \(1000\)/],
  ['unknown method', ['--method', 'supersample', '--out', out], /unknown method "supersample" \(choose /],
  ['unknown scheduler', ['--scheduler', 'pndm', '--out', out], /unknown scheduler "pndm" \(choose /],
  ['output in a missing folder', ['--out', join(dir, 'no', 'such', 'folder', 'x.png')], /--out: folder .*no\/such\/folder does not exist/],
  ['existing output without --force', ['--out', existing], /--out: .*existing\.png already exists \(use --force to overwrite\)/],
  ['missing --init-latents file', ['--init-latents', join(dir, 'nope.safetensors'), '--out', out], /--init-latents: file .*nope\.safetensors does not exist/],
  ['unreadable --init-latents file', ['--init-latents', garbageLatents, '--out', out], /garbage\.safetensors: header length \d+ (exceeds|runs past)/],
  ['--init-latents is a folder', ['--init-latents', dir, '--out', out], /--init-latents: .* is a folder, not a file/],
  ['malformed model folder', ['--model', badModel, '--out', out], /bad-model\/model_index\.json: ends early after \d+ bytes \(an interrupted download\?\)/],
  ['not a model folder', ['--model', notAModel, '--out', out], /not-a-model (is not a diffusers model folder|: has no model_index\.json)/],
  ['missing model folder', ['--model', join(dir, 'nowhere'), '--out', out], /nowhere.*not found|does not exist/],
];

test('every bad argument ends in one error line and exit code 2, through the real binary', { timeout: 300_000 }, async () => {
  // run four at a time: each is a node start-up, some also load the tiny model
  const results: Array<[string, string[], RegExp, CliResult]> = [];
  for (let i = 0; i < CASES.length; i += 4) {
    const batch = CASES.slice(i, i + 4);
    const done = await Promise.all(batch.map(([, args]) => runCli([...base, ...args])));
    batch.forEach(([name, args, re], k) => results.push([name, args, re, done[k]!]));
  }
  for (const [name, args, re, r] of results) {
    const lines = r.stderr.split('\n').filter((l) => l.length > 0);
    const where = `${name} (${args.join(' ')}): exit ${r.code}, stderr ${JSON.stringify(r.stderr)}`;
    assert.equal(r.code, 2, where);
    assert.equal(lines.length, 1, `exactly one line on stderr: ${where}`);
    assert.match(lines[0]!, /^error: /, where);
    assert.match(lines[0]!, re, where);
    assert.doesNotMatch(r.stderr, /\n\s+at |TypeError|RangeError|SyntaxError/, `no stack trace: ${where}`);
    assert.equal(r.stdout, '', where);
  }
  assert.equal(existsSync(out), false, 'no output was written');
  // only the files this test made are in the folder: no half-written images or temp files
  assert.deepEqual(readdirSync(dir).sort(), ['bad-model', 'existing.png', 'garbage.safetensors', 'not-a-model']);
});

test('without --quiet, progress lines may precede the error but it is still one line, the last', { timeout: 60_000 }, async () => {
  const r = await runCli(['generate', '--model', tinySdxl, '--prompt', 'a cat', '--width', '65536', '--height', '65536', '--out', out]);
  assert.equal(r.code, 2);
  const lines = r.stderr.split('\n').filter((l) => l.length > 0);
  assert.match(lines[lines.length - 1]!, /^error: 65536x65536 is very large/);
  assert.equal(lines.filter((l) => l.startsWith('error:')).length, 1);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});
