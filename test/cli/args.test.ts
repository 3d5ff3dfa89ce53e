// CLI argument parsing (src/cli/args.ts): typed results and one OptionsError line per bad argument.
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, resolveTargetSize, defaultModelPath, type GenerateCommand } from '../../src/cli/args.js';
import { OptionsError } from '../../src/errors.js';
import { repoRoot } from '../helpers/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'accd-args-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function gen(...args: string[]): GenerateCommand {
  const r = parseArgs(['generate', '--prompt', 'a cat', ...args], { cwd: dir });
  assert.equal(r.command, 'generate');
  return r as GenerateCommand;
}

function rejects(args: string[], message: RegExp): void {
  assert.throws(() => parseArgs(args, { cwd: dir }), (e: unknown) => {
    assert.ok(e instanceof OptionsError, `expected OptionsError, got ${String(e)}`);
    assert.match(e.message, message);
    assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
    assert.ok(!e.message.startsWith('error:'), 'no doubled "error:" prefix');
    return true;
  });
}
const g = (...args: string[]) => ['generate', '--prompt', 'a cat', ...args];

test('defaults: bundled model, scale 2, seed 42, accdiffusion, out accdiffusion-42.png in cwd', () => {
  const c = gen();
  assert.equal(c.model, join(repoRoot, 'models', 'shapes-xl'));
  assert.equal(defaultModelPath(), c.model);
  assert.deepEqual(c.size, { kind: 'scale', scale: 2 });
  assert.equal(c.seed, 42);
  assert.equal(c.method, 'accdiffusion');
  assert.equal(c.out, join(dir, 'accdiffusion-42.png'));
  assert.equal(c.device, 'cpu');
  assert.equal(c.negativePrompt, undefined);
  assert.equal(c.patchPrompts, undefined);
  assert.equal(c.windowInteraction, undefined);
  assert.equal(c.steps, undefined);
  assert.equal(c.force, false);
  assert.equal(c.referenceCompat, false);
  assert.equal(c.promptWeighting, undefined);
  assert.equal(c.maxPromptChunks, undefined);
  assert.equal(gen('--seed', '7').out, join(dir, 'accdiffusion-7.png'));
  // the whole uint64 range of torch's manual_seed, digit for digit (issue 11.2)
  assert.equal(gen('--seed', '9007199254740991').seed, 9007199254740991);
  assert.equal(gen('--seed', '9007199254740993').seed, 9007199254740993n);
  const top = gen('--seed', '18446744073709551615');
  assert.equal(top.seed, 18446744073709551615n);
  assert.equal(top.out, join(dir, 'accdiffusion-18446744073709551615.png'));
});

test('every option parses to its typed value', () => {
  mkdirSync(join(dir, 'sub'), { recursive: true });
  writeFileSync(join(dir, 'init.safetensors'), 'x');
  const c = gen(
    '--model', 'org/name', '--negative-prompt', 'blurry', '--width', '1024', '--height', '768', '--method', 'demofusion',
    '--steps', '30', '--guidance', '5', '--multi-guidance', '6.5', '--guidance-rescale', '0.7', '--scheduler', 'ddim',
    '--seed', '123', '--c', '0.25', '--stride', '32', '--view-batch-size', '4', '--cosine-scale-1', '2',
    '--cosine-scale-2', '1.5', '--cosine-scale-3', '0', '--sigma', '1.2', '--no-patch-prompts', '--no-window-interaction',
    '--no-prompt-weighting', '--max-prompt-chunks', '3', '--reference-compat', '--init-latents', 'init.safetensors', '--save-latents', 'sub/l.safetensors', '--save-stages', 'stages',
    '--report', 'sub/r.json', '--out', 'sub/o.png', '--device', 'cuda', '--threads', '3', '--json', '--state-dir', 'state', '--resume',
  );
  assert.deepEqual(c, {
    command: 'generate', model: 'org/name', modelFiles: {}, prompt: 'a cat', negativePrompt: 'blurry', size: { kind: 'pixels', width: 1024, height: 768 },
    method: 'demofusion', steps: 30, guidance: 5, multiGuidance: 6.5, guidanceRescale: 0.7, scheduler: 'ddim', seed: 123, c: 0.25,
    stride: 32, viewBatchSize: 4, cosineScale1: 2, cosineScale2: 1.5, cosineScale3: 0, sigma: 1.2, patchPrompts: false,
    windowInteraction: false, promptWeighting: false, maxPromptChunks: 3, referenceCompat: true, initLatents: join(dir, 'init.safetensors'), saveLatents: join(dir, 'sub/l.safetensors'),
    saveStages: join(dir, 'stages'), report: join(dir, 'sub/r.json'), out: join(dir, 'sub/o.png'), force: false, device: 'cuda', threads: 3,
    quiet: false, json: true, stateDir: join(dir, 'state'), resume: true, windowPrompts: undefined,
  });
  assert.equal(gen('--no-negative-prompt').negativePrompt, null);
  assert.deepEqual(gen('--scale', '4').size, { kind: 'scale', scale: 4 });
});

test('invalid values each give one clear OptionsError line', () => {
  rejects(g('--steps', 'abc'), /^--steps must be a positive integer, got "abc"$/);
  rejects(g('--max-prompt-chunks', '0'), /^--max-prompt-chunks must be a positive integer, got "0"$/);
  rejects(g('--steps', '-1'), /^--steps must be a positive integer, got "-1"$/);
  rejects(g('--steps', '0'), /^--steps must be a positive integer/);
  rejects(g('--steps', '2.5'), /^--steps must be a positive integer/);
  rejects(g('--guidance', 'high'), /^--guidance must be a number, got "high"$/);
  rejects(g('--seed', '-3'), /^--seed must be a non-negative integer/);
  rejects(g('--seed', '18446744073709551616'), /^--seed must be a non-negative integer up to 2\^64 - 1 \(18446744073709551615\), got "18446744073709551616"$/);
  rejects(g('--guidance-rescale', '2'), /^--guidance-rescale must be a number in \[0, 1\]/);
  rejects(g('--sigma', '0'), /^--sigma must be a positive number/);
  rejects(g('--c', '-0.1'), /^--c must be a number in \[0, 1\]/);
  rejects(g('--c', '2'), /^--c must be a number in \[0, 1\] \(a share of the window\)/);
  rejects(g('--threads', 'many'), /^--threads must be a positive integer/);
  rejects(g('--view-batch-size', '0'), /^--view-batch-size must be a positive integer/);
  rejects(g('--scale', '0'), /^--scale must be a positive number/);
  rejects(g('--width', '1004', '--height', '1024'), /^--width 1004 is not a multiple of 8$/);
  rejects(g('--width', '1024', '--height', '1020'), /^--height 1020 is not a multiple of 8$/);
  rejects(g('--width', '0', '--height', '1024'), /^--width must be a positive integer/);
  rejects(g('--width', '-8', '--height', '1024'), /^--width must be a positive integer/);
  rejects(g('--width', '1024'), /^give both --width and --height/);
  rejects(g('--width', '1024', '--height', '1024', '--scale', '2'), /^give either --scale or --width\/--height/);
  rejects(g('--method', 'magic'), /^unknown method "magic" \(choose accdiffusion, demofusion, multidiffusion, direct/);
  rejects(g('--scheduler', 'dpm'), /^unknown scheduler "dpm" \(choose ddim, euler, euler-a, dpmpp-2m, dpmpp-2m-karras, unipc; "--scheduler help" lists them\)$/);
  rejects(g('--device', 'tpu'), /^unknown device "tpu" \(choose cpu, cuda, webgpu\)$/);
  rejects(g('--quiet', '--json'), /^give either --quiet or --json/);
  rejects(g('--resume'), /^--resume needs --state-dir$/);
  rejects(g('--prompt', '  '), /^--prompt must not be empty$/);
  rejects(g('--out', 'x.jpg'), /^--out: x\.jpg must end in \.png$/);
  rejects(g('--init-latents', 'missing.safetensors'), /^--init-latents: file .*missing\.safetensors does not exist$/);
});

test('output paths: missing folder and existing files are refused, --force allows overwriting', () => {
  rejects(g('--out', 'nowhere/o.png'), /^--out: folder .*nowhere does not exist$/);
  rejects(g('--report', 'nowhere/r.json'), /^--report: folder .*nowhere does not exist$/);
  rejects(g('--save-latents', 'nowhere/l.safetensors'), /^--save-latents: folder .*nowhere does not exist$/);
  rejects(g('--save-stages', 'nowhere/deeper'), /^--save-stages: folder .*nowhere does not exist$/);
  writeFileSync(join(dir, 'exists.png'), 'x');
  rejects(g('--out', 'exists.png'), /^--out: .*exists\.png already exists \(use --force to overwrite\)$/);
  assert.equal(gen('--out', 'exists.png', '--force').out, join(dir, 'exists.png'));
  writeFileSync(join(dir, 'r.json'), '{}');
  rejects(g('--report', 'r.json'), /^--report: .*r\.json already exists/);
  rejects(g('--save-stages', 'exists.png'), /^--save-stages: .*exists\.png is not a folder$/);
  rejects(g('--out', 'same.png', '--report', 'same.png'), /same\.png is named as two different outputs$/);
});

test('commander errors become OptionsError lines too', () => {
  rejects(['generate'], /required option '--prompt <text>' not specified/);
  rejects(g('--bogus'), /unknown option '--bogus'/);
  rejects(g('--steps'), /option '--steps <n>' argument missing/);
  rejects(['frobnicate'], /unknown command 'frobnicate'/);
  rejects([], /^missing command/);
  assert.deepEqual(parseArgs(['help'], { writeOut: () => {} }), { command: 'shown' });
});

test('--help and --version print and return "shown"', () => {
  let out = '';
  assert.deepEqual(parseArgs(['generate', '--help'], { writeOut: (s) => (out += s) }), { command: 'shown' });
  assert.match(out, /--cosine-scale-1 <x>/);
  assert.match(out, /--no-window-interaction/);
  out = '';
  assert.deepEqual(parseArgs(['--version'], { writeOut: (s) => (out += s) }), { command: 'shown' });
  assert.match(out, /^\d+\.\d+\.\d+/);
});

test('info: model default and --image must exist', () => {
  assert.deepEqual(parseArgs(['info'], { cwd: dir }), { command: 'info', model: defaultModelPath(), modelFiles: {}, image: undefined, json: false });
  assert.deepEqual(parseArgs(['info', '--model', 'x/y', '--json'], { cwd: dir }), { command: 'info', model: 'x/y', modelFiles: {}, image: undefined, json: true });
  rejects(['info', '--image', 'nope.png'], /^--image: file .*nope\.png does not exist$/);
  rejects(['info', '--image', '.'], /^--image: .* is a folder, not a file$/);
  // a flag missing its value swallows the next flag; the error names it, not only the left-over argument
  rejects(['generate', '--prompt', 'x', '--c', '--out', 'x.png'], /^--c needs a value; it took "--out" as its value \(too many arguments for 'generate'/);
  rejects(['generate', '--prompt', 'x', '--guidance', '-1', 'extra'], /^too many arguments for 'generate'/);
});

test('resolveTargetSize: scale × native size, multiples of 8, huge sizes need --force', () => {
  assert.deepEqual(resolveTargetSize({ kind: 'scale', scale: 4 }, 1024, false), { width: 4096, height: 4096 });
  assert.deepEqual(resolveTargetSize({ kind: 'scale', scale: 1.5 }, 64, false), { width: 96, height: 96 });
  assert.deepEqual(resolveTargetSize({ kind: 'pixels', width: 640, height: 384 }, 1024, false), { width: 640, height: 384 });
  assert.throws(() => resolveTargetSize({ kind: 'scale', scale: 1.1 }, 64, false), (e: unknown) => e instanceof OptionsError && /--scale 1\.1 gives 70\.4.* px from the native 64 px, not a multiple of 8/.test(e.message));
  assert.throws(() => resolveTargetSize({ kind: 'scale', scale: 16 }, 1024, false), (e: unknown) => e instanceof OptionsError && /16384x16384 is very large .* add --force/.test(e.message));
  assert.deepEqual(resolveTargetSize({ kind: 'scale', scale: 16 }, 1024, true), { width: 16384, height: 16384 });
});
