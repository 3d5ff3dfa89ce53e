/**
 * The house rules of docs/architecture.md that a machine can check: no file over 400 lines and no function
 * over 80 lines in src/ (scripts/check-sizes.mjs), every method in the table behind the one interface, and
 * the dependency directions (the library never imports the CLI or the server; models/ never import
 * onnxruntime; schedulers/ import only tensor/).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { METHOD_TABLE } from '../../src/methods/index.js';
import { METHODS } from '../../src/options/index.js';
import { repoRoot } from '../helpers/paths.js';
import { sourceFiles } from '../helpers/source-files.js';

test('no file over 400 lines and no function over 80 lines in src/', () => {
  let out = '';
  try {
    out = execFileSync(process.execPath, [join(repoRoot, 'scripts', 'check-sizes.mjs')], { encoding: 'utf8' });
  } catch (e) {
    out = String((e as { stdout?: string }).stdout ?? e);
  }
  assert.equal(out.trim(), '', `size limits exceeded:\n${out}`);
});

test('the method table has exactly the METHODS, each under its own name, progressive ones with stage windows', () => {
  assert.deepEqual(Object.keys(METHOD_TABLE).sort(), [...METHODS].sort());
  for (const [name, m] of Object.entries(METHOD_TABLE)) {
    assert.equal(m.name, name);
    assert.equal(typeof m.firstPass, 'function');
    assert.equal(m.stagePatchWindows !== undefined, m.progressive, `${name}: stagePatchWindows exactly for progressive methods`);
  }
  assert.deepEqual(Object.entries(METHOD_TABLE).filter(([, m]) => m.progressive).map(([n]) => n).sort(), ['accdiffusion', 'demofusion']);
  assert.deepEqual(Object.entries(METHOD_TABLE).filter(([, m]) => m.windowed).map(([n]) => n).sort(), ['accdiffusion', 'demofusion', 'multidiffusion']);
  for (const m of Object.values(METHOD_TABLE)) assert.ok(!m.progressive || m.windowed, `${m.name}: progressive methods have patch windows`);
});

/** Folder (under src/) of every module a src/ file imports, by importing folder. */
function importsByFolder(): Map<string, Set<string>> {
  const src = join(repoRoot, 'src');
  const map = new Map<string, Set<string>>();
  for (const file of sourceFiles(src)) {
    const folder = relative(src, file).split('/')[0]!;
    const set = map.get(folder) ?? new Set<string>();
    for (const m of readFileSync(file, 'utf8').matchAll(/from '([^']+)'/g)) {
      const spec = m[1]!;
      if (spec.startsWith('.')) set.add(relative(src, join(file, '..', spec)).split('/')[0]!);
      else set.add(`pkg:${spec}`);
    }
    map.set(folder, set);
  }
  return map;
}

test('dependency directions: library never imports cli/server, models never onnxruntime, schedulers only tensor', () => {
  const deps = importsByFolder();
  for (const [folder, set] of deps) {
    if (folder === 'cli' || folder === 'server') continue;
    assert.ok(!set.has('cli') && !set.has('server'), `src/${folder} imports the CLI or the server`);
  }
  assert.ok(!deps.get('models')!.has('pkg:onnxruntime-node') && !deps.get('models')!.has('engine'), 'src/models imports the runtime');
  assert.deepEqual([...deps.get('schedulers')!].filter((d) => d !== 'schedulers' && d !== 'tensor' && d !== 'errors.js'), []);
  assert.ok(!deps.get('sampling')!.has('patch') && !deps.get('sampling')!.has('methods'), 'the denoise loop knows nothing of patches or methods');
  // data flows one way: below the pipeline nothing imports it (methods only its types, see methods/method.ts)
  for (const folder of ['options', 'patch', 'sampling', 'decode', 'prompts', 'loading', 'models', 'graph', 'engine', 'schedulers', 'tokenizers', 'weights', 'tensor']) {
    assert.ok(!deps.get(folder)!.has('pipeline'), `src/${folder} imports src/pipeline`);
  }
});

test('no `as never` casts in src/, test/ or bench/ (they hide wrong setups)', () => {
  const found: string[] = [];
  for (const dir of ['src', 'test', 'bench']) {
    for (const file of sourceFiles(join(repoRoot, dir))) {
      readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
        if (/\bas never\b/.test(line) && !file.endsWith('layout.test.ts')) found.push(`${relative(repoRoot, file)}:${i + 1}`);
      });
    }
  }
  assert.deepEqual(found, []);
});
