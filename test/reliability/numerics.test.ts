/**
 * NaN/Inf detection through the real CLI (issue 5, "Numerics"): temp copies of tiny-sdxl whose weights make a stage
 * blow up — VAE decoder weights of 3e38 overflow float32 while decoding, a NaN in the UNet's conv_in makes the
 * latents NaN at the first step. Each run must end in a NumericsError naming the stage (and the step, for the UNet),
 * exit code 2, one error line, and no image.
 */
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSafetensors, writeSafetensors, type TensorToWrite } from '../../src/weights/safetensors.js';
import { tinySdxl } from '../helpers/paths.js';
import { runCli as runShared } from '../cli/e2e-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'accdiffusion-numerics-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The shared CLI runner with this file's time limit. */
const runCli = (args: readonly string[]) => runShared(args, { timeoutMs: 120_000 });

/** A copy of tiny-sdxl with one tensor of `component`'s weights rewritten by `edit`. */
function poisonedModel(name: string, component: string, tensorName: string, edit: (data: Float32Array) => void): string {
  const model = join(dir, name);
  cpSync(tinySdxl, model, { recursive: true });
  const file = join(model, component, 'diffusion_pytorch_model.safetensors');
  const tensors = loadSafetensors(file);
  const out: Record<string, TensorToWrite> = {};
  for (const [key, t] of tensors) {
    assert.ok(t.data instanceof Float32Array, `${key} is float32`);
    if (key === tensorName) edit(t.data);
    out[key] = { shape: t.shape, data: t.data };
  }
  assert.ok(tensors.has(tensorName), `${component} has ${tensorName}`);
  writeSafetensors(file, out);
  return model;
}

async function expectNumericsError(model: string, pattern: RegExp): Promise<void> {
  const out = join(dir, `${model.split('/').pop()}.png`);
  const r = await runCli(['generate', '--model', model, '--prompt', 'a cat', '--scale', '1', '--steps', '2', '--quiet', '--out', out]);
  const lines = r.stderr.split('\n').filter((l) => l.length > 0);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  assert.equal(existsSync(out), false, 'no image was written');
  assert.deepEqual(readdirSync(dir).filter((f) => !f.startsWith('poisoned')), [], 'no partial or temporary files');
}

test('VAE decoder weights that overflow float32: NumericsError naming the VAE decode', { timeout: 180_000 }, async () => {
  const model = poisonedModel('poisoned-vae', 'vae', 'decoder.conv_in.weight', (w) => w.fill(3e38));
  await expectNumericsError(model, /^error: stage 1: VAE decode: tile 1 of \d+ \(latent rows .*\) decoded to (NaN|-?Infinity) pixels/);
});

test('a NaN in the UNet weights: NumericsError naming the stage and step', { timeout: 180_000 }, async () => {
  const model = poisonedModel('poisoned-unet', 'unet', 'conv_in.weight', (w) => { w[0] = NaN; });
  await expectNumericsError(model, /^error: stage 1, step 1: the latents contain NaN/);
});
