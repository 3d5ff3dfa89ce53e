/**
 * img2img start (diffusers get_timesteps / prepare_latents): the truncated step count, the shifted schedule,
 * and the encoded and noised latents from the fixture's moments and generator seed (README §8.5).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { img2imgStart, img2imgTimesteps, schedulerFrom } from '../../src/sampling/img2img-start.js';
import { createScheduler, parseSchedulerConfig } from '../../src/schedulers/index.js';
import { maxAbsDiff } from '../../src/tensor/tensor.js';
import { TorchGenerator } from '../../src/tensor/torch-generator.js';
import { OptionsError } from '../../src/errors.js';
import { latentsFromEncode } from '../../src/decode/vae-latents.js';
import { oracleF32, oracleJson } from '../helpers/oracle.js';
import { tinySd } from '../helpers/paths.js';

const schedulerConfig = () => {
  const file = join(tinySd, 'scheduler', 'scheduler_config.json');
  return parseSchedulerConfig(JSON.parse(readFileSync(file, 'utf8')), file);
};

test('img2imgTimesteps truncates steps·strength as diffusers does (6·0.6 → 3, 6·0.3 → 1)', () => {
  assert.deepEqual(img2imgTimesteps(6, 0.6), { initTimestepCount: 3, tStart: 3 });
  assert.deepEqual(img2imgTimesteps(6, 0.3), { initTimestepCount: 1, tStart: 5 });
  assert.deepEqual(img2imgTimesteps(50, 1), { initTimestepCount: 50, tStart: 0 });
  assert.deepEqual(img2imgTimesteps(50, 0), { initTimestepCount: 0, tStart: 50 });
  assert.throws(() => img2imgTimesteps(6, 1.5), OptionsError);
});

test('schedulerFrom: kept timesteps, step indices shifted to the full schedule', () => {
  const euler = createScheduler(schedulerConfig(), 'euler');
  euler.setTimesteps(6);
  const view = schedulerFrom(euler, 3);
  assert.deepEqual([...view.timesteps], [333, 167, 1]);
  const x = { shape: [1, 1, 1, 2], data: Float32Array.from([0.5, -1]) };
  assert.deepEqual([...view.scaleModelInput(x, 333, 0).data], [...euler.scaleModelInput(x, 333, 3).data]);
  assert.deepEqual([...view.step(x, 167, x, { stepIndex: 1 }).prevSample.data], [...euler.step(x, 167, x, { stepIndex: 4 }).prevSample.data]);
  assert.equal(view.initNoiseSigma, euler.initNoiseSigma);
});

for (const [rel, kind] of [['tiny-sd/img2img_ddim_s06', 'ddim'], ['tiny-sd/img2img_euler_s03', 'euler']] as const) {
  test(`img2imgStart from the fixture's moments and seed: ${rel}`, async () => {
    const meta = oracleJson<{ generator_seed: number }>(rel);
    const scheduler = createScheduler(schedulerConfig(), kind);
    scheduler.setTimesteps(6);
    const input = 'tiny-sd/img2img_input_w64_h64';
    const start = await img2imgStart({
      scheduler, strength: rel.endsWith('s06') ? 0.6 : 0.3, toLatents: (z) => latentsFromEncode(z, { scaling_factor: 0.18215, latents_mean: null, latents_std: null }), random: new TorchGenerator(meta.generator_seed),
      encode: async () => ({ mean: oracleF32(input, 'latent_dist.mean'), logvar: oracleF32(input, 'latent_dist.logvar') }),
    });
    assert.ok(maxAbsDiff(start.encodedLatents, oracleF32(rel, 'init.latents').data) <= 1e-5);
    assert.ok(maxAbsDiff(start.noisyLatents, oracleF32(rel, 'init.noisy_latents').data) <= 1e-5);
    assert.equal(start.stepsRun, rel.endsWith('s06') ? 3 : 1);
  });
}
