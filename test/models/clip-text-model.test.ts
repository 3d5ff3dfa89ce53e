import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { buildCLIPTextGraph, CLIPTextModel } from '../../src/models/clip-text-model.js';
import { parseCLIPTextConfig } from '../../src/models/clip-config.js';
import { loadCLIPTextConfig, loadCLIPTextModel } from '../../src/loading/component-folder.js';
import { ModelSession } from '../../src/engine/session.js';
import { bindWeights } from '../../src/graph/module.js';
import { ConfigError, OptionsError, WeightsError } from '../../src/errors.js';
import { maxAbsDiff } from '../../src/tensor/tensor.js';
import { readSafetensorsHeader, readTensor, writeSafetensors } from '../../src/weights/safetensors.js';
import { oracle, oracleF32 } from '../helpers/oracle.js';
import { tinySd, tinySdxl } from '../helpers/paths.js';

const TOL = 1e-4;

function ids(rel: string, name: string): { data: BigInt64Array; shape: readonly number[] } {
  const t = oracle(rel).get(name);
  if (!t || !(t.data instanceof BigInt64Array)) throw new Error(`oracle ${rel} has no I64 ${name}`);
  return { data: t.data, shape: t.shape };
}

/** Runs one encoder with every output on the oracle's input ids and compares all its tensors. */
async function checkEncoder(dir: string, rel: string, prefix: string, sets: string[]): Promise<number> {
  const { model, weights } = loadCLIPTextModel(dir);
  const g = buildCLIPTextGraph(model, { hiddenStates: true });
  const session = await ModelSession.create(g.toModelProto(), { weightsDir: weights.weightsDir, threads: 1 });
  let worst = 0;
  try {
    for (const set of sets) {
      const p = `${prefix}.${set}`;
      const out = await session.run({ input_ids: ids(rel, `${p}input_ids`) });
      const names = [...model.outputNames, ...Array.from({ length: model.config.num_hidden_layers + 1 }, (_, i) => `hidden_states.${i}`)];
      for (const name of names) {
        if (!oracle(rel).has(`${p}${name}`)) {
          // pooler_output is not stored for text_encoder_2 (its text_embeds is); everything else must be.
          assert.equal(name, 'pooler_output', `oracle lacks ${p}${name}`);
          continue;
        }
        const want = oracleF32(rel, `${p}${name}`);
        const got = out[name]!;
        assert.deepEqual(got.shape, want.shape, `${p}${name} shape`);
        const d = maxAbsDiff(got, want);
        assert.ok(d < TOL, `${p}${name}: max abs diff ${d}`);
        worst = Math.max(worst, d);
      }
    }
  } finally {
    await session.release();
  }
  return worst;
}

test('tiny-sd text_encoder matches transformers: every hidden state, penultimate, last, pooler (prompts and uncond)', async (t) => {
  const worst = await checkEncoder(join(tinySd, 'text_encoder'), 'tiny-sd/text_encoder', 'text_encoder', ['', 'uncond.']);
  t.diagnostic(`max abs diff ${worst.toExponential(2)}`);
});

test('tiny-sdxl text_encoder (quick_gelu) and text_encoder_2 (gelu, projection) match transformers', async (t) => {
  const w1 = await checkEncoder(join(tinySdxl, 'text_encoder'), 'tiny-sdxl/text_encoder', 'text_encoder', ['']);
  const w2 = await checkEncoder(join(tinySdxl, 'text_encoder_2'), 'tiny-sdxl/text_encoder', 'text_encoder_2', ['']);
  t.diagnostic(`max abs diff te1 ${w1.toExponential(2)}, te2 ${w2.toExponential(2)}`);
});

test('pooling: legacy eos_token_id 2 pools at argmax(ids), other configs at the first eos_token_id', async () => {
  const dir = join(tinySd, 'text_encoder');
  const json = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  // Ids where argmax (999 at position 3) and the first 7 (position 1) differ.
  const row = [998, 7, 5, 999, 7, ...new Array(72).fill(999)];
  const feed = { input_ids: { data: BigInt64Array.from(row.map(BigInt)), shape: [1, 77] } };
  const pooledAt = async (eos: number): Promise<number> => {
    const model = new CLIPTextModel(parseCLIPTextConfig({ ...json, eos_token_id: eos }, 'config.json'));
    const { weights } = loadCLIPTextModel(dir);
    bindWeights(model, weights);
    const s = await ModelSession.create(buildCLIPTextGraph(model, { outputs: ['last_hidden_state', 'pooler_output'] }).toModelProto(), { weightsDir: weights.weightsDir, threads: 1 });
    const out = await s.run(feed);
    await s.release();
    const D = 32;
    const pooled = out.pooler_output!.data;
    const matches = Array.from({ length: 77 }, (_, i) => maxAbsDiff(pooled, out.last_hidden_state!.data.subarray(i * D, (i + 1) * D)) === 0);
    return matches.indexOf(true);
  };
  assert.equal(await pooledAt(2), 3);
  assert.equal(await pooledAt(7), 1);
});

test('structure: module tree is the state dict, projection only with CLIPTextModelWithProjection, unused layers pruned', () => {
  const te1 = loadCLIPTextModel(join(tinySdxl, 'text_encoder')).model;
  const te2 = loadCLIPTextModel(join(tinySdxl, 'text_encoder_2')).model;
  const keys1 = [...te1.namedParameters()].map(([k]) => k);
  const keys2 = [...te2.namedParameters()].map(([k]) => k);
  const fileKeys = (dir: string) => [...readSafetensorsHeader(join(dir, 'model.safetensors')).tensors.keys()].sort();
  assert.deepEqual([...keys1].sort(), fileKeys(join(tinySdxl, 'text_encoder')));
  assert.deepEqual([...keys2].sort(), fileKeys(join(tinySdxl, 'text_encoder_2')));
  assert.deepEqual(keys2.filter((k) => !keys1.includes(k)), ['text_projection.weight']);
  assert.ok(keys1.includes('text_model.encoder.layers.4.self_attn.out_proj.bias'));
  assert.equal(te1.text_projection, undefined);
  assert.equal(te2.text_projection!.bias, undefined);
  // 5 layers × (4·(32·32+32) + 2·2·32 + 37·32+37 + 32·37+32) + embeddings (1000+77)·32 + final LN 2·32
  assert.equal(te1.parameterCount(), 5 * (4 * (32 * 32 + 32) + 4 * 32 + (37 * 32 + 37) + (32 * 37 + 32)) + 1077 * 32 + 64);
  assert.equal(te2.parameterCount() - te1.parameterCount(), 32 * 32);

  const count = (ops: string[], t: string) => ops.filter((o) => o === t).length;
  const full = buildCLIPTextGraph(te1).opTypes();
  const pen = buildCLIPTextGraph(te1, { outputs: ['penultimate_hidden_state'] }).opTypes();
  assert.equal(count(full, 'Softmax'), 5);
  assert.equal(count(pen, 'Softmax'), 4, 'penultimate-only graph skips the last layer');
  assert.equal(count(pen, 'LayerNormalization'), 8, 'and the final layer norm');
  assert.equal(count(full, 'Erf'), 0, 'quick_gelu has no erf');
  assert.equal(count(buildCLIPTextGraph(te2).opTypes(), 'Erf'), 5, 'gelu is the exact erf form');
  assert.throws(() => buildCLIPTextGraph(te1, { outputs: ['text_embeds'] }), (e: unknown) => e instanceof OptionsError && /no output "text_embeds"/.test((e as Error).message));
});

test('config errors name the file, the field, the value and what is expected', () => {
  const base = JSON.parse(readFileSync(join(tinySd, 'text_encoder', 'config.json'), 'utf8'));
  const err = (json: unknown, re: RegExp) =>
    assert.throws(() => parseCLIPTextConfig(json, '/m/text_encoder/config.json'), (e: unknown) => e instanceof ConfigError && re.test((e as Error).message));
  err({ ...base, hidden_act: 'relu' }, /\/m\/text_encoder\/config\.json: hidden_act is "relu", expected one of quick_gelu, gelu/);
  err({ ...base, layer_norm_eps: -1 }, /layer_norm_eps is -1, expected a positive number/);
  err({ ...base, hidden_size: 30 }, /num_attention_heads is 4, expected a divisor of hidden_size 30/);
  err({ ...base, num_hidden_layers: 2.5 }, /num_hidden_layers is 2.5, expected an integer >= 1/);
  err({ ...base, architectures: ['BertModel'] }, /architecture "BertModel" is not a CLIP text encoder/);
  err([1], /expected a JSON object/);
  // Defaults are transformers' (openai/clip-vit-base-patch32 text tower); a CLIPConfig contributes text_config.
  const d = parseCLIPTextConfig({}, 'c.json');
  assert.equal(d.hidden_size, 512);
  assert.equal(d.eos_token_id, 49407);
  assert.equal(d.hidden_act, 'quick_gelu');
  assert.deepEqual(d.architectures, ['CLIPTextModel']);
  const full = parseCLIPTextConfig({ model_type: 'clip', architectures: ['CLIPTextModelWithProjection'], text_config: { hidden_act: 'gelu', hidden_size: 64 } }, 'c.json');
  assert.equal(full.hidden_act, 'gelu');
  assert.equal(full.hidden_size, 64);
  assert.deepEqual(full.architectures, ['CLIPTextModelWithProjection']);
  assert.throws(() => parseCLIPTextConfig({ model_type: 'clip', text_config: { hidden_act: 'x' } }, 'c.json'), /text_config\.hidden_act is "x"/);
  assert.equal(loadCLIPTextConfig(join(tinySdxl, 'text_encoder_2')).hidden_act, 'gelu');
  assert.throws(() => loadCLIPTextConfig(join(tinySd, 'nope')), (e: unknown) => e instanceof ConfigError && /nope\/config\.json/.test((e as Error).message));
});

test('weights that disagree with the config are a WeightsError naming the key', () => {
  const root = mkdtempSync(join(tmpdir(), 'acc-clip-'));
  // text_encoder_2's weights (with text_projection) under a CLIPTextModel config.
  cpSync(join(tinySdxl, 'text_encoder_2'), join(root, 'a'), { recursive: true });
  const cfgA = JSON.parse(readFileSync(join(root, 'a', 'config.json'), 'utf8'));
  writeFileSync(join(root, 'a', 'config.json'), JSON.stringify({ ...cfgA, architectures: ['CLIPTextModel'] }));
  assert.throws(() => loadCLIPTextModel(join(root, 'a')), (e: unknown) => e instanceof WeightsError && /"text_projection.weight" is not part of the model/.test((e as Error).message));
  // ...and model_index's class name overrides config.json, as in diffusers.
  assert.ok(loadCLIPTextModel(join(root, 'a'), { architecture: 'CLIPTextModelWithProjection' }).model.text_projection);
  // intermediate_size in the config disagrees with fc1's shape.
  cpSync(join(tinySd, 'text_encoder'), join(root, 'b'), { recursive: true });
  const cfgB = JSON.parse(readFileSync(join(root, 'b', 'config.json'), 'utf8'));
  writeFileSync(join(root, 'b', 'config.json'), JSON.stringify({ ...cfgB, intermediate_size: 64 }));
  assert.throws(() => loadCLIPTextModel(join(root, 'b')), (e: unknown) => e instanceof WeightsError && /"text_model.encoder.layers.0.mlp.fc1.weight" has shape \[37,32\] but the config implies \[64,32\]/.test((e as Error).message));
  // A missing layer.
  const header = readSafetensorsHeader(join(tinySd, 'text_encoder', 'model.safetensors'));
  const kept: Parameters<typeof writeSafetensors>[1] = {};
  for (const k of header.tensors.keys()) {
    if (k.startsWith('text_model.final_layer_norm.')) continue;
    const t = readTensor(header, k);
    kept[k] = { shape: t.shape, data: t.data as Float32Array };
  }
  cpSync(join(tinySd, 'text_encoder', 'config.json'), join(root, 'c', 'config.json'), { recursive: true });
  writeSafetensors(join(root, 'c', 'model.safetensors'), kept);
  assert.throws(() => loadCLIPTextModel(join(root, 'c')), (e: unknown) => e instanceof WeightsError && /missing weight "text_model.final_layer_norm.weight"/.test((e as Error).message));
});
