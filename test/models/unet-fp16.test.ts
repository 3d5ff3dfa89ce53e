import test from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { maxAbsDiff } from '../../src/tensor/tensor.js';
import { loadUNet } from '../../src/loading/component-folder.js';
import { loadSafetensors, writeSafetensors, type TensorToWrite } from '../../src/weights/safetensors.js';
import { oracleF32 } from '../helpers/oracle.js';
import { tinySd } from '../helpers/paths.js';
import { toHalfBits, unetSession } from './unet-helpers.js';
import { halfToFloat } from '../../src/weights/safetensors.js';

test('fp16 weights: cast in-graph exactly, and the output stays close to the fp32 run', async (t) => {
  const src = join(tinySd, 'unet');
  const fp16 = mkdtempSync(join(tmpdir(), 'acc-unet-fp16-'));
  const rounded = mkdtempSync(join(tmpdir(), 'acc-unet-fp16r-'));
  t.after(() => [fp16, rounded].forEach((d) => rmSync(d, { recursive: true, force: true })));
  const half: Record<string, TensorToWrite> = {};
  const widened: Record<string, TensorToWrite> = {};
  for (const [k, v] of loadSafetensors(join(src, 'diffusion_pytorch_model.safetensors'))) {
    const bits = Uint16Array.from(v.data as Float32Array, toHalfBits);
    half[k] = { shape: v.shape, data: bits, dtype: 'F16' };
    widened[k] = { shape: v.shape, data: Float32Array.from(bits, halfToFloat) };
  }
  // diffusers' variant naming for the half file
  writeSafetensors(join(fp16, 'diffusion_pytorch_model.fp16.safetensors'), half);
  writeSafetensors(join(rounded, 'diffusion_pytorch_model.safetensors'), widened);
  for (const d of [fp16, rounded]) copyFileSync(join(src, 'config.json'), join(d, 'config.json'));
  const feeds = {
    sample: oracleF32('tiny-sd/unet', 'sample'),
    encoder_hidden_states: oracleF32('tiny-sd/unet', 'encoder_hidden_states'),
    timestep: { data: Float32Array.from([500, 500]), shape: [2] },
  };
  const run = async (dir: string, variant?: string) => {
    const { model, weights } = loadUNet(dir, variant ? { variant } : {});
    const s = await unetSession(model, weights.weightsDir);
    const out = (await s.run(feeds)).out_sample!;
    await s.release();
    return { out, dtype: weights.dtype };
  };
  const h = await run(fp16, 'fp16');
  assert.equal(h.dtype, 'float16');
  const r = await run(rounded);
  const f32 = oracleF32('tiny-sd/unet', 'output');
  // The in-graph Cast is exact: fp16 weights behave as their float32 widening.
  const exact = maxAbsDiff(h.out, r.out);
  const vsFp32 = maxAbsDiff(h.out, f32);
  const scale = Math.max(...Array.from(f32.data, Math.abs));
  t.diagnostic(`fp16 vs fp16-rounded fp32: ${exact.toExponential(2)}; fp16 vs fp32 oracle: ${vsFp32.toExponential(2)} (|out| max ${scale.toFixed(2)})`);
  assert.ok(exact < 1e-5);
  assert.ok(vsFp32 < 1e-2 * scale, `fp16 output differs from fp32 by ${vsFp32}`);
  assert.ok(vsFp32 > 0, 'the fp16 file really holds rounded weights');
});
