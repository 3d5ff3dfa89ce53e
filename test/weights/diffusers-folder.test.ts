/**
 * Tests of src/weights/diffusers-folder.ts on the fixture folders (ORACLE-README §3.2-3.3), the bundled
 * models/shapes-xl (its REPORT.md §3), and broken folders written to temp dirs.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openModelFolder } from '../../src/weights/diffusers-folder.js';
import { ConfigError } from '../../src/errors.js';
import { repoRoot, tinySd, tinySdxl } from '../helpers/paths.js';

const shapesXl = join(repoRoot, 'models', 'shapes-xl');

/** Copies the configs of a fixture (not the weights: openModelFolder reads none) to a fresh temp folder. */
function copyFixture(src: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'acc-folder-'));
  cpSync(src, dir, { recursive: true, filter: (s) => !s.endsWith('.safetensors') });
  return dir;
}

function editIndex(dir: string, edit: (index: Record<string, unknown>) => void): void {
  const file = join(dir, 'model_index.json');
  const index = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  edit(index);
  writeFileSync(file, JSON.stringify(index));
}

function throwsConfig(fn: () => unknown, ...parts: (string | RegExp)[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    for (const p of parts) {
      if (typeof p === 'string') assert.ok(e.message.includes(p), `message ${JSON.stringify(e.message)} lacks ${JSON.stringify(p)}`);
      else assert.match(e.message, p);
    }
    return true;
  });
}

test('tiny-sd: SD pipeline with one encoder, 32x32 latent, VAE factor 2, 64 px', () => {
  const f = openModelFolder(tinySd);
  assert.equal(f.path, tinySd);
  assert.equal(f.pipelineClass, 'StableDiffusionPipeline');
  assert.equal(f.diffusersVersion, '0.27.2');
  assert.deepEqual(f.components.map((c) => c.name), ['unet', 'vae', 'text_encoder', 'tokenizer', 'scheduler']);
  assert.equal(f.nativeLatentSize, 32);
  assert.equal(f.vaeScaleFactor, 2);
  assert.equal(f.nativeSize, 64);
  assert.equal(f.textEncoderCount, 1);
  assert.equal(f.tokenizers.length, 1);
  assert.equal(f.hasTextTimeEmbedding, false);
  assert.equal(f.forceZerosForEmptyPrompt, false);
  assert.equal(f.unet.className, 'UNet2DConditionModel');
  assert.equal(f.unet.dir, join(tinySd, 'unet'));
  assert.equal(f.unet.configFile, join(tinySd, 'unet', 'config.json'));
  assert.deepEqual(f.unet.config['block_out_channels'], [32, 64]);
  assert.equal(f.vae.config['scaling_factor'], 0.18215);
  assert.equal(f.scheduler.className, 'DDIMScheduler');
  assert.equal(f.scheduler.configFile, join(tinySd, 'scheduler', 'scheduler_config.json'));
  assert.equal(f.scheduler.config['set_alpha_to_one'], false);
  assert.equal(f.textEncoders[0]!.className, 'CLIPTextModel');
});

test('tiny-sdxl: two encoders and tokenizers, text_time UNet, VAE factor 8, 256 px, zeros for empty prompt', () => {
  const f = openModelFolder(tinySdxl);
  assert.equal(f.pipelineClass, 'StableDiffusionXLPipeline');
  assert.deepEqual(f.components.map((c) => c.name), ['unet', 'vae', 'text_encoder', 'text_encoder_2', 'tokenizer', 'tokenizer_2', 'scheduler']);
  assert.equal(f.nativeLatentSize, 32);
  assert.equal(f.vaeScaleFactor, 8);
  assert.equal(f.nativeSize, 256);
  assert.equal(f.textEncoderCount, 2);
  assert.deepEqual(f.textEncoders.map((c) => c.className), ['CLIPTextModel', 'CLIPTextModelWithProjection']);
  assert.deepEqual(f.tokenizers.map((c) => c.dir), [join(tinySdxl, 'tokenizer'), join(tinySdxl, 'tokenizer_2')]);
  assert.equal(f.hasTextTimeEmbedding, true);
  assert.equal(f.forceZerosForEmptyPrompt, true);
  assert.equal(f.textEncoders[1]!.config['projection_dim'], 32);
  assert.equal(f.scheduler.className, 'EulerDiscreteScheduler');
});

test('shapes-xl (bundled default): SDXL layout, 32x32 latent, VAE factor 8, 256 px (REPORT.md §3)', () => {
  const f = openModelFolder(shapesXl);
  assert.equal(f.pipelineClass, 'StableDiffusionXLPipeline');
  assert.equal(f.nativeLatentSize, 32);
  assert.equal(f.vaeScaleFactor, 8);
  assert.equal(f.nativeSize, 256);
  assert.equal(f.textEncoderCount, 2);
  assert.equal(f.hasTextTimeEmbedding, true);
  assert.equal(f.forceZerosForEmptyPrompt, true);
  assert.equal(f.unet.config['cross_attention_dim'], 64);
  assert.equal(f.vae.config['scaling_factor'], 0.7035);
});

test('relative paths are resolved to absolute ones', () => {
  const f = openModelFolder(join('test', 'fixtures', 'models', 'tiny-sd'));
  assert.equal(f.path, join(process.cwd(), 'test', 'fixtures', 'models', 'tiny-sd'));
});

test('force_zeros_for_empty_prompt: SDXL default true when absent, honoured when false, never for SD', () => {
  const dir = copyFixture(tinySdxl);
  const sd = copyFixture(tinySd);
  try {
    editIndex(dir, (i) => delete i['force_zeros_for_empty_prompt']);
    assert.equal(openModelFolder(dir).forceZerosForEmptyPrompt, true);
    editIndex(dir, (i) => (i['force_zeros_for_empty_prompt'] = false));
    assert.equal(openModelFolder(dir).forceZerosForEmptyPrompt, false);
    editIndex(dir, (i) => (i['force_zeros_for_empty_prompt'] = 'yes'));
    throwsConfig(() => openModelFolder(dir), 'force_zeros_for_empty_prompt');
    editIndex(sd, (i) => (i['force_zeros_for_empty_prompt'] = true));
    assert.equal(openModelFolder(sd).forceZerosForEmptyPrompt, false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(sd, { recursive: true, force: true });
  }
});

test('img2img pipeline classes open like the text-to-image ones; requires_safety_checker is ignored', () => {
  const dir = copyFixture(tinySd);
  try {
    editIndex(dir, (i) => {
      i['_class_name'] = 'StableDiffusionImg2ImgPipeline';
      i['requires_safety_checker'] = true;
    });
    const f = openModelFolder(dir);
    assert.equal(f.pipelineClass, 'StableDiffusionImg2ImgPipeline');
    assert.equal(f.nativeSize, 64);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('errors: missing folder, missing/invalid model_index.json, non-object JSON', () => {
  const dir = copyFixture(tinySd);
  try {
    throwsConfig(() => openModelFolder(join(dir, 'nope')), join(dir, 'nope'), 'does not exist');
    throwsConfig(() => openModelFolder(join(dir, 'model_index.json')), 'is a file');
    const index = join(dir, 'model_index.json');
    writeFileSync(index, '{"_class_name": "StableDiffusionPipeline", ');
    throwsConfig(() => openModelFolder(dir), index, 'ends early', 'interrupted download');
    writeFileSync(index, '{"_class_name": "StableDiffusionPipeline" "x": 1}');
    throwsConfig(() => openModelFolder(dir), index, 'not valid JSON');
    writeFileSync(index, '[1, 2]');
    throwsConfig(() => openModelFolder(dir), index, 'JSON object', 'an array');
    rmSync(index);
    throwsConfig(() => openModelFolder(dir), dir, 'no model_index.json');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('errors: unknown or missing _class_name names the class and the supported ones', () => {
  const dir = copyFixture(tinySd);
  try {
    editIndex(dir, (i) => (i['_class_name'] = 'KandinskyPipeline'));
    throwsConfig(() => openModelFolder(dir), 'model_index.json', '"KandinskyPipeline" is not supported', 'StableDiffusionXLPipeline');
    editIndex(dir, (i) => delete i['_class_name']);
    throwsConfig(() => openModelFolder(dir), '"_class_name" is missing');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('errors: missing component folder names the folder and the component', () => {
  const dir = copyFixture(tinySd);
  try {
    rmSync(join(dir, 'unet'), { recursive: true });
    throwsConfig(() => openModelFolder(dir), 'component "unet"', join(dir, 'unet'), 'is missing');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const xl = copyFixture(tinySdxl);
  try {
    rmSync(join(xl, 'tokenizer_2'), { recursive: true });
    throwsConfig(() => openModelFolder(xl), 'component "tokenizer_2"', join(xl, 'tokenizer_2'));
  } finally {
    rmSync(xl, { recursive: true, force: true });
  }
});

test('errors: required components absent or null in model_index.json, malformed entries, unpaired encoder', () => {
  const dir = copyFixture(tinySdxl);
  try {
    editIndex(dir, (i) => (i['vae'] = [null, null]));
    throwsConfig(() => openModelFolder(dir), 'required component "vae" is [null, null]');
    editIndex(dir, (i) => {
      i['vae'] = ['diffusers', 'AutoencoderKL'];
      delete i['scheduler'];
    });
    throwsConfig(() => openModelFolder(dir), 'required component "scheduler" is missing');
    editIndex(dir, (i) => {
      i['scheduler'] = ['diffusers'];
    });
    throwsConfig(() => openModelFolder(dir), '"scheduler" must be ["library", "ClassName"] or [null, null]');
    editIndex(dir, (i) => {
      i['scheduler'] = ['diffusers', 'EulerDiscreteScheduler'];
      i['text_encoder'] = [null, null];
    });
    throwsConfig(() => openModelFolder(dir), '"text_encoder" is [null, null]', 'refiner');
    editIndex(dir, (i) => {
      i['text_encoder'] = ['transformers', 'CLIPTextModel'];
      i['tokenizer_2'] = [null, null];
    });
    throwsConfig(() => openModelFolder(dir), 'names "text_encoder_2" but not "tokenizer_2"');
    editIndex(dir, (i) => (i['tokenizer_2'] = ['transformers', 'CLIPTokenizer']));
    assert.equal(openModelFolder(dir).textEncoderCount, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('errors: component configs missing, invalid or without a usable sample_size / block_out_channels', () => {
  const dir = copyFixture(tinySd);
  try {
    const sched = join(dir, 'scheduler', 'scheduler_config.json');
    rmSync(sched);
    throwsConfig(() => openModelFolder(dir), 'component "scheduler" has no scheduler_config.json', sched);
    writeFileSync(sched, '"DDIM"');
    throwsConfig(() => openModelFolder(dir), sched, 'JSON object');
    writeFileSync(sched, '{}');
    const unetConfig = join(dir, 'unet', 'config.json');
    const unet = JSON.parse(readFileSync(unetConfig, 'utf8')) as Record<string, unknown>;
    writeFileSync(unetConfig, JSON.stringify({ ...unet, sample_size: null }));
    throwsConfig(() => openModelFolder(dir), unetConfig, '"sample_size"');
    writeFileSync(unetConfig, JSON.stringify({ ...unet, sample_size: [24, 24] }));
    assert.equal(openModelFolder(dir).nativeLatentSize, 24);
    const vaeConfig = join(dir, 'vae', 'config.json');
    const vae = JSON.parse(readFileSync(vaeConfig, 'utf8')) as Record<string, unknown>;
    writeFileSync(vaeConfig, JSON.stringify({ ...vae, block_out_channels: [] }));
    throwsConfig(() => openModelFolder(dir), vaeConfig, '"block_out_channels"');
    writeFileSync(vaeConfig, JSON.stringify({ ...vae, block_out_channels: [8, 8, 8, 8] }));
    assert.equal(openModelFolder(dir).vaeScaleFactor, 8);
    assert.equal(openModelFolder(dir).nativeSize, 24 * 8);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a FIFO or an oversized file under a config name is refused without blocking or reading it', async () => {
  const { mkdtempSync, cpSync, rmSync, writeFileSync } = await import('node:fs');
  const { execFileSync } = await import('node:child_process');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { readTextFile } = await import('../../src/weights/read-text-file.js');
  const { openModelFolder } = await import('../../src/weights/diffusers-folder.js');
  const { ConfigError } = await import('../../src/errors.js');
  const { tinySd } = await import('../helpers/paths.js');
  const dir = mkdtempSync(join(tmpdir(), 'acc-fifo-'));
  cpSync(tinySd, dir, { recursive: true });
  rmSync(join(dir, 'unet', 'config.json'));
  execFileSync('mkfifo', [join(dir, 'unet', 'config.json')]);
  assert.throws(() => openModelFolder(dir), (e: unknown) => e instanceof ConfigError && /not a regular file/.test((e as Error).message));
  writeFileSync(join(dir, 'big.txt'), Buffer.alloc(2048, 32));
  assert.throws(() => readTextFile(join(dir, 'big.txt'), 1024), /larger than 1024 bytes/);
  rmSync(dir, { recursive: true, force: true });
});
