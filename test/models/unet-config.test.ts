import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, WeightsError } from '../../src/errors.js';
import { onnx } from '../../src/graph/onnx-proto.js';
import { bindWeights, type WeightLookup, type WeightRef } from '../../src/graph/module.js';
import { maxAbsDiff, type Tensor } from '../../src/tensor/tensor.js';
import { parseUNet2DConditionConfig } from '../../src/models/unet-config.js';
import { UNet2DConditionModel, buildUNetGraph, crossAttentionLayers } from '../../src/models/unet-2d-condition.js';
import { loadUNet } from '../../src/loading/component-folder.js';
import { randomTensor, rng, row, unetSession, writeConfig, writeRandomWeights } from './unet-helpers.js';

/** SD2-style: per-level heads, linear projections, upcast_attention; most keys omitted so defaults apply. */
const SD2_STYLE = {
  _class_name: 'UNet2DConditionModel',
  block_out_channels: [8, 16, 16],
  down_block_types: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
  up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
  attention_head_dim: [2, 4, 8],
  cross_attention_dim: 24,
  layers_per_block: 1,
  norm_num_groups: 4,
  use_linear_projection: true,
  upcast_attention: true,
};

test('config: diffusers defaults, the attention_head_dim quirk, and ConfigErrors naming file, field and value', () => {
  const c = parseUNet2DConditionConfig(SD2_STYLE, 'x/config.json');
  assert.deepEqual(c.num_attention_heads, [2, 4, 8]);
  assert.deepEqual(c.cross_attention_dim, [24, 24, 24]);
  assert.deepEqual(c.layers_per_block, [1, 1, 1]);
  assert.deepEqual(c.transformer_layers_per_block, [1, 1, 1]);
  assert.equal(c.mid_block_type, 'UNetMidBlock2DCrossAttn');
  assert.equal(c.in_channels, 4);
  assert.equal(c.flip_sin_to_cos, true);
  assert.equal(c.norm_eps, 1e-5);
  assert.equal(c.addition_embed_type, null);
  const sd15 = parseUNet2DConditionConfig({ attention_head_dim: 8, block_out_channels: [320, 640, 1280, 1280] }, 'c.json');
  assert.deepEqual(sd15.num_attention_heads, [8, 8, 8, 8]);
  assert.deepEqual(sd15.down_block_types, ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D']);
  const bad = (patch: object, re: RegExp): void =>
    assert.throws(() => parseUNet2DConditionConfig({ ...SD2_STYLE, ...patch }, 'm/unet/config.json'), (e: unknown) => e instanceof ConfigError && re.test((e as Error).message) && (e as Error).message.includes('m/unet/config.json'));
  bad({ down_block_types: ['CrossAttnDownBlock2D', 'Foo', 'DownBlock2D'] }, /unknown block type "Foo" in down_block_types\[1\]/);
  bad({ up_block_types: ['UpBlock2D', 'AttnUpBlock2D', 'CrossAttnUpBlock2D'] }, /unknown block type "AttnUpBlock2D" in up_block_types\[1\]/);
  bad({ mid_block_type: 'UNetMidBlock2DSimpleCrossAttn' }, /"mid_block_type" is "UNetMidBlock2DSimpleCrossAttn"/);
  bad({ attention_head_dim: [2, 4] }, /"attention_head_dim" is \[2,4\]; expected a list with one entry per down block \(3\)/);
  bad({ num_attention_heads: 8 }, /"num_attention_heads" is 8/);
  bad({ addition_embed_type: 'text_time' }, /"addition_time_embed_dim"/);
  bad({ addition_embed_type: 'image' }, /"addition_embed_type" is "image"/);
  bad({ class_embed_type: 'timestep' }, /"class_embed_type"/);
  bad({ block_out_channels: [8, 16, 18] }, /block_out_channels\[2\]" is 18; expected a multiple of norm_num_groups \(4\)/);
  bad({ act_fn: 'tanh' }, /"act_fn" is "tanh"/);
});

test('structure: op types and initializer names are exactly the state-dict keys', () => {
  const config = parseUNet2DConditionConfig({
    block_out_channels: [4, 8], down_block_types: ['CrossAttnDownBlock2D', 'DownBlock2D'], up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D'],
    attention_head_dim: 2, cross_attention_dim: 6, layers_per_block: 1, norm_num_groups: 2,
  }, 'small.json');
  const model = new UNet2DConditionModel(config);
  const keys = [...model.namedParameters()].map(([k]) => k);
  const refs = new Map<string, WeightRef>();
  for (const [k, p] of model.namedParameters()) refs.set(k, { key: k, dtype: 'float32', shape: p.shape, where: { location: 'w.safetensors', offset: 0, length: 4 }, file: 'w.safetensors' });
  const lookup: WeightLookup = { source: 'fake', get: (k) => refs.get(k), keys: () => refs.keys() };
  bindWeights(model, lookup);
  assert.ok(keys.includes('down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_out.0.weight'));
  assert.ok(keys.includes('down_blocks.0.attentions.0.transformer_blocks.0.ff.net.2.bias'));
  assert.ok(keys.includes('up_blocks.0.upsamplers.0.conv.weight'));
  assert.ok(keys.includes('up_blocks.1.resnets.1.conv_shortcut.weight'));
  assert.ok(!keys.some((k) => k.startsWith('mid_block.attentions.0.transformer_blocks.1')));
  for (const [capture, attention] of [['none', 'fused'], ['all', 'fused'], ['none', 'explicit']] as const) {
    const g = buildUNetGraph(model, { captureAttn2: capture, attention });
    const m = onnx.ModelProto.decode(g.toModelProto()) as unknown as { graph: { initializer: Array<{ name: string; dataLocation: number }>; output: Array<{ name: string }> } };
    const external = m.graph.initializer.filter((i) => i.dataLocation === 1).map((i) => i.name);
    assert.deepEqual([...external].sort(), [...keys].sort());
    const ops = new Set(g.opTypes());
    for (const op of ['Conv', 'InstanceNormalization', 'LayerNormalization', 'MatMul', 'Sin', 'Cos', 'Gelu', 'Resize', 'Concat']) assert.ok(ops.has(op), `${op} present`);
    const attn = crossAttentionLayers(model);
    if (attention === 'fused' && capture === 'none') {
      assert.ok(ops.has('MultiHeadAttention') && !ops.has('Softmax'));
      assert.deepEqual(m.graph.output.map((o) => o.name), ['out_sample']);
    } else if (capture === 'all') {
      // captured cross layers are explicit, self-attention stays fused
      assert.ok(ops.has('MultiHeadAttention') && ops.has('Softmax') && ops.has('ReduceMean'));
      assert.deepEqual(m.graph.output.map((o) => o.name), ['out_sample', ...attn.map((l) => l.path)]);
    } else {
      assert.ok(!ops.has('MultiHeadAttention') && ops.has('Softmax'));
    }
  }
  assert.deepEqual(crossAttentionLayers(model).map((l) => [l.path, l.location, l.downsampleFactor]), [
    ['down_blocks.0.attentions.0.transformer_blocks.0.attn2', 'down', 1],
    ['mid_block.attentions.0.transformer_blocks.0.attn2', 'mid', 2],
    ['up_blocks.1.attentions.0.transformer_blocks.0.attn2', 'up', 1],
    ['up_blocks.1.attentions.1.transformer_blocks.0.attn2', 'up', 1],
  ]);
  assert.throws(() => buildUNetGraph(model, { captureAttn2: ['down_blocks.0.attentions.0.transformer_blocks.0.attn1'] }), /is not a cross-attention layer/);
});

test('SD2-style config with random weights: non-square and odd sizes, batch rows independent, probabilities sum to 1', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'acc-unet-sd2-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeConfig(dir, SD2_STYLE);
  const config = parseUNet2DConditionConfig(SD2_STYLE, 'sd2');
  writeRandomWeights(new UNet2DConditionModel(config), dir, 7);
  const { model, weights } = loadUNet(dir);
  const layers = crossAttentionLayers(model);
  assert.deepEqual(layers.map((l) => [l.location, l.downsampleFactor, l.heads]), [
    ['down', 1, 2], ['down', 2, 4], ['mid', 4, 8], ['up', 2, 4], ['up', 2, 4], ['up', 1, 2], ['up', 1, 2],
  ]);
  const s = await unetSession(model, weights.weightsDir, { captureAttn2: 'all' });
  const fused = await unetSession(model, weights.weightsDir, { attention: 'fused' });
  const next = rng(3);
  for (const [H, W] of [[12, 20], [10, 7]] as Array<[number, number]>) {
    const sample = randomTensor([2, 4, H, W], next);
    const ehs = randomTensor([2, 77, 24], next);
    const timestep: Tensor = { data: Float32Array.from([999, 21]), shape: [2] };
    const out = await s.run({ sample, encoder_hidden_states: ehs, timestep });
    assert.deepEqual(out.out_sample!.shape, [2, 4, H, W]);
    // batch rows are independent: each row run alone gives the same result
    for (const b of [0, 1]) {
      const alone = await s.run({ sample: row(sample, b), encoder_hidden_states: row(ehs, b), timestep: { data: timestep.data.slice(b, b + 1), shape: [1] } });
      const d = maxAbsDiff(alone.out_sample!, row(out.out_sample!, b));
      assert.ok(d < 1e-5, `${H}x${W} row ${b}: ${d}`);
    }
    // every probability row sums to 1 over the 77 keys; query count follows the level's size
    for (const l of layers) {
      const p = out[l.path]!;
      let h = H, w = W;
      for (let f = 1; f < l.downsampleFactor; f *= 2) { h = Math.ceil(h / 2); w = Math.ceil(w / 2); }
      assert.deepEqual(p.shape, [2, h * w, 77]);
      let worst = 0;
      for (let r = 0; r < p.data.length / 77; r++) {
        let sum = 0;
        for (let k = 0; k < 77; k++) sum += p.data[r * 77 + k]!;
        worst = Math.max(worst, Math.abs(sum - 1));
      }
      assert.ok(worst < 1e-5, `${l.path} rows sum to 1 within ${worst}`);
    }
    // fused attention agrees with the explicit one
    const f = await fused.run({ sample, encoder_hidden_states: ehs, timestep });
    const d = maxAbsDiff(f.out_sample!, out.out_sample!);
    t.diagnostic(`${H}x${W}: fused vs explicit max abs diff ${d.toExponential(2)}, |out| max ${Math.max(...Array.from(out.out_sample!.data, Math.abs)).toFixed(2)}`);
    assert.ok(d < 1e-4);
  }
  await s.release();
  await fused.release();
});

test('a missing weight or a wrong shape is a WeightsError naming the key', (t) => {
  const config = parseUNet2DConditionConfig(SD2_STYLE, 'sd2');
  const model = new UNet2DConditionModel(config);
  const missing = mkdtempSync(join(tmpdir(), 'acc-unet-missing-'));
  const wrong = mkdtempSync(join(tmpdir(), 'acc-unet-wrong-'));
  t.after(() => [missing, wrong].forEach((d) => rmSync(d, { recursive: true, force: true })));
  writeConfig(missing, SD2_STYLE);
  writeRandomWeights(model, missing, 1, (w) => delete w['mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight']);
  assert.throws(() => loadUNet(missing), (e: unknown) => e instanceof WeightsError && /missing weight "mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight" \(shape \[16,24\]\)/.test((e as Error).message));
  writeConfig(wrong, SD2_STYLE);
  writeRandomWeights(model, wrong, 1, (w) => {
    w['down_blocks.1.attentions.0.proj_in.weight'] = { shape: [16, 16, 1, 1], data: new Float32Array(256) };
  });
  assert.throws(() => loadUNet(wrong), (e: unknown) => e instanceof WeightsError && /"down_blocks.1.attentions.0.proj_in.weight" has shape \[16,16,1,1\] but the config implies \[16,16\]/.test((e as Error).message));
});
