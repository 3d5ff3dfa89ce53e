// The CLI's wiring (src/cli/main.ts) with a fake pipeline: options handed over, files written, exit codes
// 0/1/2/130, nothing written on abort; `info` on the fixtures and a Hugging Face cache layout; the bin shim.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { main, EXIT_BUG, EXIT_INTERRUPTED, EXIT_OK, EXIT_USER_ERROR } from '../../src/cli/main.js';
import { readPngTextEntry } from '../../src/cli/png-text.js';
import { parseParameters } from '../../src/cli/parameters.js';
import { ConfigError } from '../../src/errors.js';
import { writeSafetensors } from '../../src/weights/safetensors.js';
import { repoRoot, tinySd, tinySdxl } from '../helpers/paths.js';
import { fakeLoader } from './fake-result.js';
import { stringStream } from './string-stream.js';

const dir = mkdtempSync(join(tmpdir(), 'accd-main-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

async function run(argv: string[], loader = fakeLoader(), signal?: AbortSignal, env: NodeJS.ProcessEnv = {}) {
  const stdout = stringStream();
  const stderr = stringStream();
  const code = await main(argv, { stdout, stderr, cwd: dir, env, loadPipeline: loader.load, signal });
  return { code, stdout: stdout.text(), stderr: stderr.text(), calls: loader.calls };
}

test('generate --json: options reach the pipeline, files are written, stdout is JSON lines only', async () => {
  const r = await run(['generate', '--model', tinySdxl, '--prompt', 'a red circle', '--scale', '2', '--steps', '2', '--no-patch-prompts',
    '--threads', '2', '--out', 'o.png', '--save-stages', 'st', '--report', 'r.json', '--save-latents', 'l.safetensors', '--json']);
  assert.equal(r.code, EXIT_OK, r.stderr);
  assert.equal(r.stderr, '');
  assert.equal(r.calls.loads.length, 1);
  assert.equal(r.calls.loads[0]!.spec, tinySdxl);
  assert.equal(r.calls.loads[0]!.options.device, 'cpu');
  assert.equal(r.calls.loads[0]!.options.threads, 2);
  const o = r.calls.generates[0]!.options;
  // --scale 2 on the fake's native 64 px.
  assert.deepEqual([o.width, o.height, o.steps, o.seed, o.patchPrompts, o.windowInteraction, o.negativePrompt, o.method], [128, 128, 2, 42, false, undefined, undefined, 'accdiffusion']);
  assert.ok(r.calls.generates[0]!.context?.signal instanceof AbortSignal);
  assert.equal(r.calls.disposed, 1);

  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; files?: string[] });
  assert.deepEqual(lines.map((l) => l.type), ['load', 'load', 'stage-start', 'step', 'step', 'stage-end', 'done']);
  const done = lines[lines.length - 1]!;
  assert.equal(done.files![0], join(dir, 'o.png'));
  for (const f of done.files!) assert.ok(existsSync(f), f);
  assert.ok(existsSync(join(dir, 'st', 'patch-prompts-stage-2.png')));
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);

  const params = parseParameters(readPngTextEntry(readFileSync(join(dir, 'o.png')), 'parameters')!);
  assert.equal(params.prompt, 'a red circle');
  assert.equal(params.values.get('Model'), 'tiny-sdxl');
  assert.equal(params.values.get('Sampler'), 'Euler', 'from the model\'s EulerDiscreteScheduler');
  assert.equal(params.values.get('Seed'), '42');
  assert.equal(params.values.get('Patch prompts'), 'False');
  assert.equal(params.values.get('Size'), '128x128');

  // info --image prints the stored parameters.
  const info = await run(['info', '--image', 'o.png']);
  assert.equal(info.code, EXIT_OK);
  assert.match(info.stdout, /^a red circle\nNegative prompt: blurry, ugly, duplicate, poorly drawn, deformed, mosaic\nSteps: 2, Sampler: Euler/);

  // Running again without --force: refused up front, before loading the model.
  const again = await run(['generate', '--model', tinySdxl, '--prompt', 'x', '--out', 'o.png']);
  assert.equal(again.code, EXIT_USER_ERROR);
  assert.match(again.stderr, /^error: --out: .*o\.png already exists \(use --force to overwrite\)\n$/);
  assert.equal(again.calls.loads.length, 0);
});

test('default human output: progress lines and "wrote" on stderr, nothing on stdout; --quiet prints nothing', async () => {
  const r = await run(['generate', '--model', tinySdxl, '--prompt', 'x', '--width', '64', '--height', '128', '--out', 'h.png']);
  assert.equal(r.code, EXIT_OK, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /stage 1\/2: 64x64, 2 steps\n/);
  assert.match(r.stderr, /wrote .*h\.png \(128x96\) in \d+\.\d s\n$/);
  assert.deepEqual([r.calls.generates[0]!.options.width, r.calls.generates[0]!.options.height], [64, 128]);
  const q = await run(['generate', '--model', tinySdxl, '--prompt', 'x', '--out', 'q.png', '--quiet']);
  assert.equal(q.code, EXIT_OK);
  assert.equal(q.stdout + q.stderr, '');
  assert.ok(existsSync(join(dir, 'q.png')));
});

test('user errors exit 2 with one line; bugs exit 1 with a stack', async () => {
  const bad = await run(['generate', '--prompt', 'x', '--width', '100', '--height', '64']);
  assert.equal(bad.code, EXIT_USER_ERROR);
  assert.equal(bad.stderr, 'error: --width 100 is not a multiple of 8\n');

  const cfg = await run(['generate', '--model', tinySdxl, '--prompt', 'x', '--out', 'c.png'], fakeLoader(new ConfigError('unet/config.json: bad "sample_size"')));
  assert.equal(cfg.code, EXIT_USER_ERROR);
  assert.equal(cfg.stderr.split('\n').filter((l) => l.startsWith('error:')).join('\n'), 'error: unet/config.json: bad "sample_size"');
  assert.doesNotMatch(cfg.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(cfg.calls.disposed, 1, 'pipeline disposed on error');
  assert.ok(!existsSync(join(dir, 'c.png')));

  const bug = await run(['generate', '--model', tinySdxl, '--prompt', 'x', '--out', 'b.png'], fakeLoader(new TypeError('undefined is not a function')));
  assert.equal(bug.code, EXIT_BUG);
  assert.match(bug.stderr, /TypeError: undefined is not a function\n\s+at /);

  const json = await run(['generate', '--model', tinySdxl, '--prompt', 'x', '--out', 'j.png', '--json'], fakeLoader(new ConfigError('broken')));
  assert.equal(json.code, EXIT_USER_ERROR);
  assert.deepEqual(JSON.parse(json.stdout.trim().split('\n').pop()!), { type: 'error', message: 'broken', interrupted: false });

  const scale = await run(['generate', '--model', tinySdxl, '--prompt', 'x', '--scale', '1.1', '--out', 's.png']);
  assert.equal(scale.code, EXIT_USER_ERROR);
  assert.match(scale.stderr, /\nerror: --scale 1\.1 gives 70\.4\d* px from the native 64 px, not a multiple of 8; use --width\/--height\n$/);

  // the model's bound on --stride (its native latent size, 8 cells here) is named like every flag error, before any work
  const stride = await run(['generate', '--model', tinySdxl, '--prompt', 'x', '--stride', '9', '--out', 't.png']);
  assert.equal(stride.code, EXIT_USER_ERROR);
  assert.match(stride.stderr, /\nerror: --stride must be an integer in 1\.\.8 \(latent cells\), got "9"\n$/);
  assert.deepEqual(stride.calls.generates, [], 'nothing generated');

  // a flag the chosen method does not use is named, and the run goes on
  const ignored = await run(['generate', '--model', tinySdxl, '--prompt', 'x', '--method', 'direct', '--c', '0.5', '--cosine-scale-1', '2', '--steps', '2', '--out', 'ignored.png']);
  assert.equal(ignored.code, EXIT_OK, ignored.stderr);
  assert.match(ignored.stderr, /^warning: --c is used by accdiffusion only; --method direct ignores it\nwarning: --cosine-scale-1 is used by accdiffusion, demofusion only; --method direct ignores it\n/);
  const used = await run(['generate', '--model', tinySdxl, '--prompt', 'x', '--method', 'demofusion', '--stride', '4', '--steps', '2', '--out', 'used.png']);
  assert.doesNotMatch(used.stderr, /warning/);
});

test('abort (Ctrl-C) stops the run: exit 130, no image, no temporary files', async () => {
  const controller = new AbortController();
  const loader = fakeLoader('wait-abort');
  const pending = run(['generate', '--model', tinySdxl, '--prompt', 'x', '--out', 'aborted.png', '--save-stages', 'ab', '--report', 'ab.json'], loader, controller.signal);
  setTimeout(() => controller.abort(), 20);
  const r = await pending;
  assert.equal(r.code, EXIT_INTERRUPTED);
  assert.match(r.stderr, /interrupted: nothing was written\n$/);
  assert.ok(loader.calls.generates[0]!.context!.signal!.aborted, 'the pipeline saw the abort');
  assert.equal(loader.calls.disposed, 1);
  for (const f of ['aborted.png', 'ab', 'ab.json']) assert.ok(!existsSync(join(dir, f)), f);
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
});

test('--init-latents: tensor "latents" is read and passed on; a bad shape is a user error', async () => {
  const data = Float32Array.from({ length: 4 * 8 * 8 }, (_, i) => i / 7);
  writeSafetensors(join(dir, 'init.safetensors'), { latents: { shape: [1, 4, 8, 8], data } });
  const r = await run(['generate', '--model', tinySdxl, '--prompt', 'x', '--out', 'i.png', '--init-latents', 'init.safetensors', '--quiet']);
  assert.equal(r.code, EXIT_OK, r.stderr);
  const t = r.calls.generates[0]!.options.initLatents!;
  assert.deepEqual(t.shape, [1, 4, 8, 8]);
  assert.deepEqual([...t.data], [...data]);

  writeSafetensors(join(dir, 'bad.safetensors'), { latents: { shape: [4, 8, 8], data: new Float32Array(256) } });
  const bad = await run(['generate', '--model', tinySdxl, '--prompt', 'x', '--out', 'i2.png', '--init-latents', 'bad.safetensors']);
  assert.equal(bad.code, EXIT_USER_ERROR);
  assert.match(bad.stderr, /^error: --init-latents: .*bad\.safetensors: tensor "latents" has shape \[4, 8, 8\], expected \[1, 4, h, w\]\n$/);
  writeSafetensors(join(dir, 'other.safetensors'), { x: { shape: [1], data: new Float32Array(1) } });
  const missing = await run(['generate', '--model', tinySdxl, '--prompt', 'x', '--out', 'i3.png', '--init-latents', 'other.safetensors']);
  assert.equal(missing.code, EXIT_USER_ERROR);
  assert.match(missing.stderr, /has no tensor named "latents"/);
  assert.equal(missing.calls.loads.length, 0, 'checked before loading the model');
});

test('info: family, native size, components with parameter counts, devices', async () => {
  const xl = await run(['info', '--model', tinySdxl]);
  assert.equal(xl.code, EXIT_OK, xl.stderr);
  assert.match(xl.stdout, /family: +SDXL\n/);
  assert.match(xl.stdout, /native size: 256 px \(latent 32, VAE factor 8\)/);
  assert.match(xl.stdout, /devices: +cpu/);
  const j = await run(['info', '--model', tinySd, '--json']);
  const info = JSON.parse(j.stdout) as { nativeSize: number; components: Array<{ name: string; parameters: number; dtypes: string[] }>; parameters: number };
  const unet = info.components.find((c) => c.name === 'unet')!;
  assert.ok(unet.parameters > 1000);
  assert.deepEqual(unet.dtypes, ['F32']);
  assert.equal(info.parameters, info.components.reduce((a, c) => a + c.parameters, 0));
  assert.deepEqual(info.components.map((c) => c.name).sort(), ['scheduler', 'text_encoder', 'tokenizer', 'unet', 'vae']);
});

test('--model as a Hugging Face repo id (and @revision) in a local cache of symlinks into blobs/, two revisions', async () => {
  const hfHome = join(dir, 'hf');
  const repo = join(hfHome, 'hub', 'models--acme--tiny-sd');
  const main = 'a'.repeat(40);
  const v2 = 'b'.repeat(40);
  mkdirSync(join(repo, 'refs'), { recursive: true });
  writeFileSync(join(repo, 'refs', 'main'), `${main}\n`);
  writeFileSync(join(repo, 'refs', 'v2'), v2); // a tag or branch; huggingface_hub writes no newline
  mkdirSync(join(repo, 'blobs'), { recursive: true });
  // Mirror the fixture: each file becomes a blob with a symlink in the snapshot, as huggingface_hub lays them out.
  const mirror = (snap: string): void => {
    const walk = (rel: string): void => {
      for (const e of readdirSync(join(tinySd, rel), { withFileTypes: true })) {
        const r = join(rel, e.name);
        if (e.isDirectory()) {
          mkdirSync(join(snap, r), { recursive: true });
          walk(r);
        } else {
          const blob = join(repo, 'blobs', `${basename(snap)}_${r.replace(/[/\\]/g, '_')}`);
          writeFileSync(blob, readFileSync(join(tinySd, r)));
          symlinkSync(blob, join(snap, r));
        }
      }
    };
    mkdirSync(snap, { recursive: true });
    walk('');
  };
  const snapMain = join(repo, 'snapshots', main);
  const snapV2 = join(repo, 'snapshots', v2);
  mirror(snapMain);
  mirror(snapV2);
  const r = await run(['info', '--model', 'acme/tiny-sd', '--json'], fakeLoader(), undefined, { HF_HOME: hfHome });
  assert.equal(r.code, EXIT_OK, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { path: string }).path, snapMain);
  // the text names the repo as typed, not the snapshot's commit hash
  const text = await run(['info', '--model', 'acme/tiny-sd@v2'], fakeLoader(), undefined, { HF_HOME: hfHome });
  assert.equal(text.code, EXIT_OK, text.stderr);
  assert.equal(text.stdout.split('\n')[0], `model:       acme/tiny-sd@v2 (${snapV2})`);
  const g = await run(['generate', '--model', 'acme/tiny-sd', '--prompt', 'x', '--out', 'hf.png', '--quiet'], fakeLoader(), undefined, { HF_HOME: hfHome });
  assert.equal(g.code, EXIT_OK, g.stderr);
  assert.equal(g.calls.loads[0]!.spec, snapMain);
  assert.equal(parseParameters(readPngTextEntry(readFileSync(join(dir, 'hf.png')), 'parameters')!).values.get('Model'), 'acme/tiny-sd');
  // @revision, as the library's resolver takes it (issue 11): a ref name, a full commit hash, the default branch
  for (const [spec, snap] of [['acme/tiny-sd@v2', snapV2], [`acme/tiny-sd@${v2}`, snapV2], ['acme/tiny-sd@main', snapMain]] as const) {
    const gr = await run(['generate', '--model', spec, '--prompt', 'x', '--out', 'hf.png', '--quiet', '--force'], fakeLoader(), undefined, { HF_HOME: hfHome });
    assert.equal(gr.code, EXIT_OK, gr.stderr);
    assert.equal(gr.calls.loads[0]!.spec, snap, spec);
    assert.equal(parseParameters(readPngTextEntry(readFileSync(join(dir, 'hf.png')), 'parameters')!).values.get('Model'), spec);
  }
  const noRev = await run(['info', '--model', 'acme/tiny-sd@v3'], fakeLoader(), undefined, { HF_HOME: hfHome });
  assert.equal(noRev.code, EXIT_USER_ERROR);
  assert.match(noRev.stderr, /^error: model "acme\/tiny-sd@v3": not found; .*revision "v3" of acme\/tiny-sd: no ref file .*refs\/v3 .*cached snapshots: /);
  assert.equal(noRev.stderr.split('\n').length, 2);

  const missing = await run(['info', '--model', 'acme/nothing'], fakeLoader(), undefined, { HF_HOME: hfHome });
  assert.equal(missing.code, EXIT_USER_ERROR);
  assert.match(missing.stderr, /^error: model "acme\/nothing": not found; looked for: folder .*acme\/nothing \(does not exist\); acme\/nothing in the Hugging Face cache at .*hf\/hub\/models--acme--nothing .*huggingface-cli download acme\/nothing.*\n$/);
  // a file is named as a file, with the folder to pass instead
  const file = await run(['info', '--model', join(tinySd, 'unet', 'config.json')], fakeLoader(), undefined, { HF_HOME: hfHome });
  assert.equal(file.code, EXIT_USER_ERROR);
  assert.match(file.stderr, /^error: .*unet\/config\.json: is a file, not a model folder; pass the model folder that holds it: .*tiny-sd\n$/);
});

test('bin/accdiffusion.js: --help exits 0; a bad argument exits 2 with one line', () => {
  const bin = join(repoRoot, 'bin', 'accdiffusion.js');
  const help = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8', cwd: dir });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /Usage: accdiffusion/);
  const bad = spawnSync(process.execPath, [bin, 'generate', '--prompt', 'x', '--steps', '0'], { encoding: 'utf8', cwd: dir });
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr, 'error: --steps must be a positive integer, got "0"\n');
  assert.equal(bad.stdout, '');
});
