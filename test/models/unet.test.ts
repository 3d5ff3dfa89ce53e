import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { maxAbsDiff, type Tensor } from '../../src/tensor/tensor.js';
import { crossAttentionLayers } from '../../src/models/unet-2d-condition.js';
import { loadUNet } from '../../src/loading/component-folder.js';
import { oracle, oracleF32 } from '../helpers/oracle.js';
import { tinySd, tinySdxl } from '../helpers/paths.js';
import { unetSession } from './unet-helpers.js';

const TOL = 1e-4;

function timestepFeed(rel: string, name: string, batch: number): Tensor {
  const t = oracle(rel).get(name)!;
  const vals = Array.from(t.data as BigInt64Array, Number);
  const per = vals.length === 1 ? Array(batch).fill(vals[0]) : vals;
  return { data: Float32Array.from(per), shape: [batch] };
}

test('tiny-sd: output, per-row timesteps and every attn2 probability match diffusers', async (t) => {
  const { model, weights } = loadUNet(join(tinySd, 'unet'));
  const layers = crossAttentionLayers(model);
  assert.deepEqual(layers.map((l) => l.path), [...oracle('tiny-sd/unet_attn2_probs').keys()].sort((a, b) => layers.findIndex((l) => l.path === a) - layers.findIndex((l) => l.path === b)));
  assert.equal(layers.length, 6);
  assert.ok(layers.every((l) => l.downsampleFactor === 2 && l.heads === 8));
  const s = await unetSession(model, weights.weightsDir, { captureAttn2: 'all' });
  const feeds = {
    sample: oracleF32('tiny-sd/unet', 'sample'),
    encoder_hidden_states: oracleF32('tiny-sd/unet', 'encoder_hidden_states'),
  };
  const out = await s.run({ ...feeds, timestep: timestepFeed('tiny-sd/unet', 'timestep', 2) });
  const d = maxAbsDiff(out.out_sample!, oracleF32('tiny-sd/unet', 'output'));
  t.diagnostic(`tiny-sd output max abs diff ${d.toExponential(2)}`);
  assert.ok(d < TOL, `output differs by ${d}`);
  let worst = 0;
  for (const l of layers) {
    const want = oracleF32('tiny-sd/unet_attn2_probs', l.path);
    assert.deepEqual(out[l.path]!.shape, want.shape);
    worst = Math.max(worst, maxAbsDiff(out[l.path]!, want));
  }
  t.diagnostic(`tiny-sd attn2 probs worst max abs diff ${worst.toExponential(2)}`);
  assert.ok(worst < TOL, `probabilities differ by ${worst}`);
  const multi = await s.run({ ...feeds, timestep: timestepFeed('tiny-sd/unet', 'multi_t.timestep', 2) }, ['out_sample']);
  const dm = maxAbsDiff(multi.out_sample!, oracleF32('tiny-sd/unet', 'multi_t.output'));
  t.diagnostic(`tiny-sd multi_t output max abs diff ${dm.toExponential(2)}`);
  assert.ok(dm < TOL, `multi_t output differs by ${dm}`);
  // A single timestep is broadcast over the batch, as diffusers does with a scalar.
  const one = await s.run({ ...feeds, timestep: { data: Float32Array.from([500]), shape: [1] } }, ['out_sample']);
  assert.ok(maxAbsDiff(one.out_sample!, out.out_sample!) === 0);
  await s.release();
});

test('tiny-sd: fused MultiHeadAttention and explicit attention both match diffusers without capture', async (t) => {
  const { model, weights } = loadUNet(join(tinySd, 'unet'));
  const feeds = {
    sample: oracleF32('tiny-sd/unet', 'sample'),
    encoder_hidden_states: oracleF32('tiny-sd/unet', 'encoder_hidden_states'),
    timestep: timestepFeed('tiny-sd/unet', 'timestep', 2),
  };
  for (const attention of ['fused', 'explicit'] as const) {
    const s = await unetSession(model, weights.weightsDir, { attention });
    assert.deepEqual(s.outputNames, ['out_sample']);
    const out = await s.run(feeds);
    const d = maxAbsDiff(out.out_sample!, oracleF32('tiny-sd/unet', 'output'));
    t.diagnostic(`tiny-sd ${attention} output max abs diff ${d.toExponential(2)}`);
    assert.ok(d < TOL, `${attention}: output differs by ${d}`);
    await s.release();
  }
});

test('tiny-sdxl (text_time, transformer_layers_per_block, linear projection): output and 17 attn2 layers match', async (t) => {
  const { model, weights } = loadUNet(join(tinySdxl, 'unet'));
  const layers = crossAttentionLayers(model);
  assert.equal(layers.length, 17);
  const probs = oracle('tiny-sdxl/unet_attn2_probs');
  assert.deepEqual(new Set(layers.map((l) => l.path)), new Set(probs.keys()));
  // The AccDiffusion selection: down/up layers at latent/4 (8×8 here), mid excluded.
  const accLayers = layers.filter((l) => l.location !== 'mid' && l.downsampleFactor === 4).map((l) => l.path);
  assert.equal(accLayers.length, 4 + 6);
  assert.ok(accLayers.every((p) => p.startsWith('down_blocks.2') || p.startsWith('up_blocks.0')));
  const s = await unetSession(model, weights.weightsDir, { captureAttn2: 'all' });
  const out = await s.run({
    sample: oracleF32('tiny-sdxl/unet', 'sample'),
    encoder_hidden_states: oracleF32('tiny-sdxl/unet', 'encoder_hidden_states'),
    timestep: timestepFeed('tiny-sdxl/unet', 'timestep', 2),
    text_embeds: oracleF32('tiny-sdxl/unet', 'added_cond.text_embeds'),
    time_ids: oracleF32('tiny-sdxl/unet', 'added_cond.time_ids'),
  });
  const d = maxAbsDiff(out.out_sample!, oracleF32('tiny-sdxl/unet', 'output'));
  t.diagnostic(`tiny-sdxl output max abs diff ${d.toExponential(2)}`);
  assert.ok(d < TOL, `output differs by ${d}`);
  let worst = 0;
  for (const l of layers) {
    const want = oracleF32('tiny-sdxl/unet_attn2_probs', l.path);
    assert.deepEqual(out[l.path]!.shape, want.shape);
    worst = Math.max(worst, maxAbsDiff(out[l.path]!, want));
  }
  t.diagnostic(`tiny-sdxl attn2 probs worst max abs diff ${worst.toExponential(2)}`);
  assert.ok(worst < TOL, `probabilities differ by ${worst}`);
  await s.release();
});
