/**
 * Tests of src/loading/model-info.ts: parameter counts from safetensors headers against ORACLE-README §3
 * (tiny-sd, tiny-sdxl) and models/shapes-xl/REPORT.md §3, sharded and fp16 folders written to temp dirs,
 * and the weight errors (pickle-only component, index naming a missing shard).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeModel, formatModelInfo, type ModelInfo } from '../../src/loading/model-info.js';
import { loadSafetensors, writeSafetensors, type TensorToWrite } from '../../src/weights/safetensors.js';
import { WeightsError } from '../../src/errors.js';
import { repoRoot, tinySd, tinySdxl } from '../helpers/paths.js';

const shapesXl = join(repoRoot, 'models', 'shapes-xl');

function params(info: ModelInfo): Record<string, number | undefined> {
  return Object.fromEntries(info.components.map((c) => [c.name, c.weights?.parameterCount]));
}

function folderBytes(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce(
    (a, e) => a + (e.isDirectory() ? folderBytes(join(dir, e.name)) : statSync(join(dir, e.name)).size), 0);
}

function tempCopy(src: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'acc-info-'));
  cpSync(src, dir, { recursive: true });
  return dir;
}

test('tiny-sd: custom family (cross-attention 32), 64 px, parameter counts per component', () => {
  const info = describeModel(tinySd);
  assert.equal(info.family, 'custom');
  assert.equal(info.crossAttentionDim, 32);
  assert.equal(info.nativeSize, 64);
  assert.deepEqual(params(info), {
    unet: 1_427_012, vae: 658_375, text_encoder: 68_473, tokenizer: undefined, scheduler: undefined,
  });
  assert.equal(info.parameterCount, 1_427_012 + 658_375 + 68_473);
  const unet = info.components.find((c) => c.name === 'unet')!;
  assert.equal(unet.className, 'UNet2DConditionModel');
  assert.equal(unet.weights!.dtype, 'float32');
  assert.deepEqual(unet.weights!.files, [join(tinySd, 'unet', 'diffusion_pytorch_model.safetensors')]);
  assert.equal(unet.weights!.bytes, statSync(unet.weights!.files[0]!).size);
  assert.equal(info.diskBytes, folderBytes(tinySd));
});

test('tiny-sdxl: sdxl family, 256 px, unet 809,284 parameters', () => {
  const info = describeModel(tinySdxl);
  assert.equal(info.family, 'sdxl');
  assert.equal(info.nativeSize, 256);
  assert.equal(info.textEncoderCount, 2);
  assert.deepEqual(params(info), {
    unet: 809_284, vae: 437_847, text_encoder: 68_473, text_encoder_2: 69_497,
    tokenizer: undefined, tokenizer_2: undefined, scheduler: undefined,
  });
  assert.deepEqual(info.components.map((c) => c.className), [
    'UNet2DConditionModel', 'AutoencoderKL', 'CLIPTextModel', 'CLIPTextModelWithProjection', 'CLIPTokenizer', 'CLIPTokenizer', 'EulerDiscreteScheduler',
  ]);
  assert.equal(info.diskBytes, folderBytes(tinySdxl));
});

test('shapes-xl: the counts of REPORT.md §3, fp32, size on disk, info text', () => {
  const info = describeModel(shapesXl);
  assert.equal(info.family, 'sdxl');
  assert.equal(info.nativeSize, 256);
  assert.deepEqual(params(info), {
    unet: 1_714_532, vae: 1_028_935, text_encoder: 65_216, text_encoder_2: 66_240,
    tokenizer: undefined, tokenizer_2: undefined, scheduler: undefined,
  });
  for (const c of info.components) if (c.weights) assert.equal(c.weights.dtype, 'float32');
  assert.equal(info.diskBytes, folderBytes(shapesXl));
  assert.equal((info.diskBytes / 1e6).toFixed(1), '11.6'); // REPORT.md says 11.4 MB of weights; + configs, tokenizers, REPORT.md
  const text = formatModelInfo(info).join('\n');
  assert.match(text, /StableDiffusionXLPipeline \(looks like: sdxl\)/);
  assert.match(text, /256x256 px \(latent 32x32, VAE factor 8\)/);
  assert.match(text, /unet +UNet2DConditionModel +float32 +1,714,532 params/);
  assert.match(text, /parameters: +2,874,923/);
});

test('sharded unet (index + 2 shards) counts the same parameters; fp16 variant reports float16', () => {
  const dir = tempCopy(tinySd);
  try {
    const unetDir = join(dir, 'unet');
    const file = join(unetDir, 'diffusion_pytorch_model.safetensors');
    const tensors = [...loadSafetensors(file)];
    const half = Math.floor(tensors.length / 2);
    const shards: Record<string, TensorToWrite>[] = [{}, {}];
    const weightMap: Record<string, string> = {};
    tensors.forEach(([name, t], i) => {
      const s = i < half ? 0 : 1;
      shards[s]![name] = { shape: t.shape, data: t.data as Float32Array };
      weightMap[name] = `diffusion_pytorch_model-0000${s + 1}-of-00002.safetensors`;
    });
    rmSync(file);
    shards.forEach((s, i) => writeSafetensors(join(unetDir, `diffusion_pytorch_model-0000${i + 1}-of-00002.safetensors`), s));
    writeFileSync(join(unetDir, 'diffusion_pytorch_model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    const unet = describeModel(dir).components.find((c) => c.name === 'unet')!;
    assert.equal(unet.weights!.parameterCount, 1_427_012);
    assert.equal(unet.weights!.files.length, 2);

    // An fp16-only text encoder (diffusers' variant naming): same count, float16.
    const teDir = join(dir, 'text_encoder');
    const te: Record<string, TensorToWrite> = {};
    for (const [name, t] of loadSafetensors(join(teDir, 'model.safetensors'))) {
      te[name] = { shape: t.shape, data: new Uint16Array(t.data.length), dtype: 'F16' };
    }
    rmSync(join(teDir, 'model.safetensors'));
    writeSafetensors(join(teDir, 'model.fp16.safetensors'), te);
    const text = describeModel(dir).components.find((c) => c.name === 'text_encoder')!;
    assert.equal(text.weights!.dtype, 'float16');
    assert.equal(text.weights!.parameterCount, 68_473);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('errors: a pickle-only component is never loaded and points to safetensors; a missing shard is named', () => {
  const dir = tempCopy(tinySd);
  try {
    const unetDir = join(dir, 'unet');
    rmSync(join(unetDir, 'diffusion_pytorch_model.safetensors'));
    writeFileSync(join(unetDir, 'diffusion_pytorch_model.bin'), 'not really a pickle');
    assert.throws(() => describeModel(dir), (e: unknown) => {
      assert.ok(e instanceof WeightsError, String(e));
      assert.ok(e.message.includes(join(unetDir, 'diffusion_pytorch_model.bin')), e.message);
      assert.match(e.message, /pickle.*never loaded/);
      assert.match(e.message, /\.safetensors/);
      return true;
    });
    rmSync(join(unetDir, 'diffusion_pytorch_model.bin'));
    const index = join(unetDir, 'diffusion_pytorch_model.safetensors.index.json');
    writeFileSync(index, JSON.stringify({ weight_map: { 'conv_in.weight': 'diffusion_pytorch_model-00001-of-00002.safetensors' } }));
    assert.throws(() => describeModel(dir), (e: unknown) => {
      assert.ok(e instanceof WeightsError, String(e));
      assert.ok(e.message.includes(index), e.message);
      assert.ok(e.message.includes('"diffusion_pytorch_model-00001-of-00002.safetensors", which is missing'), e.message);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
