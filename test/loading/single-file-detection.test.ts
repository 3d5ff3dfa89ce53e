/**
 * Family detection and the shipped standard configs on the real SD1.x / SD2.x / SDXL key sets
 * (oracle/single-file/standard_architectures.json, MODEL-FILES-README §9.4), as header-only sparse files of the
 * real size: key counts per prefix, parameter counts and the marker shapes must be the ones recorded from
 * diffusers' conversion, and the files, with the extra keys real checkpoints carry, must bind without --config.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { standardArchitecture, type CheckpointLayout } from '../../src/loading/architectures.js';
import { openCheckpoint } from '../../src/loading/single-file.js';
import { ConfigError } from '../../src/errors.js';
import { oracleJson } from '../helpers/oracle.js';
import { planCheckpoint, writeHeaderOnlyCheckpoint } from '../helpers/checkpoint-files.js';

interface ArchFacts {
  params: { unet: number; vae: number };
  keys_written_by_the_conversion: Record<string, number>;
  probe_keys_shape: Record<string, number[] | null>;
  unet_config: { sample_size: number };
}
const facts = oracleJson<{ architectures: Record<string, ArchFacts> }>('single-file/standard_architectures').architectures;

/** Keys real checkpoints carry that no diffusers model uses. */
const EXTRAS: Record<CheckpointLayout, Array<{ key: string; shape: number[]; dtype?: string }>> = {
  sd1: [
    { key: 'cond_stage_model.transformer.text_model.embeddings.position_ids', shape: [1, 77], dtype: 'I64' },
    { key: 'model_ema.decay', shape: [], dtype: 'F32' },
    { key: 'model_ema.num_updates', shape: [], dtype: 'I32' },
    { key: 'model_ema.diffusion_modelinput_blocks00weight', shape: [320, 4, 3, 3] },
    { key: 'alphas_cumprod', shape: [1000], dtype: 'F32' },
  ],
  sd2: [
    { key: 'cond_stage_model.model.transformer.resblocks.23.attn.in_proj_weight', shape: [3072, 1024] },
    { key: 'cond_stage_model.model.transformer.resblocks.23.ln_1.weight', shape: [1024] },
    { key: 'cond_stage_model.model.text_projection', shape: [1024, 1024] },
    { key: 'cond_stage_model.model.logit_scale', shape: [], dtype: 'F32' },
  ],
  sdxl: [
    { key: 'conditioner.embedders.0.transformer.text_model.embeddings.position_ids', shape: [1, 77], dtype: 'I64' },
    { key: 'conditioner.embedders.1.model.logit_scale', shape: [], dtype: 'F32' },
  ],
};

const CASES: Array<[CheckpointLayout, string, string, number]> = [
  ['sd1', 'SD1.x', 'SD1.x', 512],
  ['sd2', 'SD2.x (768-v)', 'SD2.x', 768],
  ['sdxl', 'SDXL base', 'SDXL', 1024],
];

for (const [layout, name, family, nativeSize] of CASES) {
  test(`${name}: the shipped configs give the real key set, and a header-only file of it is detected and bound`, () => {
    const f = facts[name]!;
    const plan = planCheckpoint(standardArchitecture(layout), layout);
    const counts: Record<string, number> = {};
    for (const t of plan) {
      const prefix = Object.keys(f.keys_written_by_the_conversion).find((p) => t.key.startsWith(`${p}.`));
      assert.ok(prefix, `${t.key} has no known prefix`);
      counts[prefix] = (counts[prefix] ?? 0) + 1;
    }
    assert.deepEqual(counts, f.keys_written_by_the_conversion);
    const params = (prefix: string) => plan.filter((t) => t.key.startsWith(prefix)).reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0);
    assert.equal(params('model.diffusion_model.'), f.params.unet);
    assert.equal(params('first_stage_model.'), f.params.vae);
    const byKey = new Map(plan.map((t) => [t.key, t.shape]));
    for (const [key, shape] of Object.entries(f.probe_keys_shape)) assert.deepEqual(byKey.get(key) ?? null, shape, key);

    const dir = mkdtempSync(join(tmpdir(), 'accd-detect-'));
    try {
      const file = join(dir, `${layout}.safetensors`);
      writeHeaderOnlyCheckpoint(file, [...EXTRAS[layout], ...plan]);
      const b = openCheckpoint(file);
      assert.equal(b.layout, layout);
      assert.match(b.architecture.name, new RegExp(`^${family.replace('.', '\\.')} \\(standard`));
      assert.equal(b.unetConfig.sample_size! * 2 ** (b.vaeConfig.block_out_channels.length - 1), nativeSize);
      assert.equal(b.unetWeights.mapping.size, f.keys_written_by_the_conversion['model.diffusion_model']);
      if (layout === 'sd2') {
        assert.equal(openCheckpoint(file, { predictionType: 'epsilon' }).unetConfig.sample_size, 64, 'SD2-base is 512 px');
        assert.equal(b.architecture.scheduler['prediction_type'], 'v_prediction');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('SDXL refiner key set is refused with one clear line; a file with no UNet is not taken for a checkpoint', () => {
  const plan = planCheckpoint(standardArchitecture('sdxl'), 'sdxl')
    .filter((t) => !t.key.startsWith('conditioner.embedders.0.'))
    .map((t) => ({ ...t, key: t.key.replace('conditioner.embedders.1.model.', 'conditioner.embedders.0.model.') }));
  const dir = mkdtempSync(join(tmpdir(), 'accd-detect-'));
  try {
    const refiner = join(dir, 'refiner.safetensors');
    writeHeaderOnlyCheckpoint(refiner, plan);
    assert.throws(() => openCheckpoint(refiner), (e: Error) => e instanceof ConfigError && /SDXL refiner/.test(e.message) && !e.message.includes('\n'));
    const vaeOnly = join(dir, 'vae.safetensors');
    writeHeaderOnlyCheckpoint(vaeOnly, plan.filter((t) => t.key.startsWith('first_stage_model.')));
    assert.throws(() => openCheckpoint(vaeOnly), (e: Error) => e instanceof ConfigError && /not a Stable Diffusion checkpoint/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
