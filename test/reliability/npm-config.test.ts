/**
 * npm in the checkout (issue 11.6): onnxruntime-node's CUDA download stays off through package.json's
 * `allowScripts` denial (npm knows the field) instead of an `.npmrc` key npm does not know, which made every
 * `npx accdiffusion ...` print "Unknown project config". The run check needs npm on PATH (skipped without).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/paths.js';

test('package.json denies onnxruntime-node\'s install script; no .npmrc key npm does not know', () => {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { allowScripts?: Record<string, unknown> };
  assert.equal(pkg.allowScripts?.['onnxruntime-node'], false);
  const npmrc = join(repoRoot, '.npmrc');
  if (existsSync(npmrc)) assert.doesNotMatch(readFileSync(npmrc, 'utf8'), /onnxruntime-node-install/);
});

test('npx accdiffusion --version prints the version and no npm warning', (t) => {
  const r = spawnSync('npm', ['exec', '--no', '--', 'accdiffusion', '--version'], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
  if (r.error) return t.skip(`npm not runnable: ${r.error.message}`);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\d+\.\d+\.\d+/);
  assert.doesNotMatch(r.stderr, /npm warn/i);
});
