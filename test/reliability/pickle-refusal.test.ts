/**
 * Pickle-based weights are never unpickled (issue 5): a component folder holding only .bin/.ckpt/.pt/.pth files
 * is a WeightsError that says why and points to safetensors. To show the files are never even opened, they are
 * FIFOs: opening one for reading blocks until a writer appears, so a loader that touched it would hang. The loads
 * therefore run in a child process with a timeout.
 */
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot, tinySd } from '../helpers/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'accdiffusion-pickle-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const PICKLE_NAMES = ['diffusion_pytorch_model.bin', 'model.ckpt', 'weights.pt', 'unet.pth'];

/** Runs `body` (an async function body with openComponentWeights in scope) in a child node; returns its JSON output. */
function inChild(body: string): { status: number | null; signal: string | null; out: unknown } {
  const weightsUrl = pathToFileURL(join(repoRoot, 'dist', 'src', 'weights', 'component-weights.js')).href;
  const script = `import { openComponentWeights } from ${JSON.stringify(weightsUrl)};\n${body}`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000, encoding: 'utf8' });
  return { status: r.status, signal: r.signal, out: r.stdout ? JSON.parse(r.stdout) : r.stderr };
}

test('a folder with only pickle files is refused without opening them', { timeout: 60_000 }, () => {
  const folders: string[] = [];
  for (const name of PICKLE_NAMES) {
    const component = join(dir, name.replace(/\W/g, '_'));
    mkdirSync(component);
    cpSync(join(tinySd, 'unet', 'config.json'), join(component, 'config.json'));
    execFileSync('mkfifo', [join(component, name)]);
    folders.push(component);
  }
  const r = inChild(`
    const out = [];
    for (const d of ${JSON.stringify(folders)}) {
      try { openComponentWeights(d); out.push({ ok: true }); }
      catch (e) { out.push({ name: e.name, message: e.message }); }
    }
    console.log(JSON.stringify(out));`);
  assert.equal(r.signal, null, `the child was killed (${r.signal}): a pickle file was opened and blocked`);
  assert.equal(r.status, 0, String(r.out));
  const results = r.out as Array<{ name: string; message: string }>;
  results.forEach((e, i) => {
    assert.equal(e.name, 'WeightsError', JSON.stringify(e));
    assert.ok(e.message.includes(join(folders[i]!, PICKLE_NAMES[i]!)), `names the file: ${e.message}`);
    assert.match(e.message, /pickle-based weights are never loaded/);
    assert.match(e.message, /unpickling can run arbitrary code/);
    assert.match(e.message, /\.safetensors/);
  });
});

test('next to a safetensors file, a pickle file is ignored and never opened', { timeout: 60_000 }, () => {
  const component = join(dir, 'both');
  cpSync(join(tinySd, 'text_encoder'), component, { recursive: true });
  execFileSync('mkfifo', [join(component, 'pytorch_model.bin')]);
  const r = inChild(`
    const w = openComponentWeights(${JSON.stringify(component)});
    console.log(JSON.stringify({ files: w.headers.map((h) => h.file), keys: [...w.keys()].length }));`);
  assert.equal(r.signal, null, 'the child was killed: the .bin FIFO was opened');
  assert.equal(r.status, 0, String(r.out));
  const out = r.out as { files: string[]; keys: number };
  assert.deepEqual(out.files, [join(component, 'model.safetensors')]);
  assert.ok(out.keys > 10);
});

test('the CLI refuses a model whose UNet is pickle-only: one line, exit 2, no image', { timeout: 60_000 }, () => {
  const model = join(dir, 'model');
  cpSync(tinySd, model, { recursive: true });
  rmSync(join(model, 'unet', 'diffusion_pytorch_model.safetensors'));
  execFileSync('mkfifo', [join(model, 'unet', 'diffusion_pytorch_model.bin')]);
  const out = join(dir, 'out.png');
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'accdiffusion.js'), 'generate', '--model', model, '--prompt', 'a cat', '--quiet', '--out', out],
    { timeout: 30_000, encoding: 'utf8' });
  assert.equal(r.signal, null, 'the CLI was killed: it blocked on the .bin FIFO');
  assert.equal(r.status, 2, r.stderr);
  const lines = r.stderr.split('\n').filter((l) => l.length > 0);
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^error: .*unet\/diffusion_pytorch_model\.bin: pickle-based weights are never loaded .*convert the model to \.safetensors/);
  assert.ok(!readdirSync(dir).includes('out.png'));
});
