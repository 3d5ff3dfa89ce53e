import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { AutoencoderKL, bindVaeWeights, buildVaeDecodeGraph, buildVaeEncodeGraph } from '../../src/models/autoencoder-kl.js';
import { parseAutoencoderKLConfig, vaeScaleFactor } from '../../src/models/vae-config.js';
import { loadAutoencoderKLConfig } from '../../src/loading/component-folder.js';
import { openComponentWeights } from '../../src/weights/component-weights.js';
import { loadSafetensors, writeSafetensors } from '../../src/weights/safetensors.js';
import { ModelSession } from '../../src/engine/session.js';
import { maxAbsDiff, type Tensor } from '../../src/tensor/tensor.js';
import { ConfigError, WeightsError } from '../../src/errors.js';
import { oracleF32 } from '../helpers/oracle.js';
import { tinySd, tinySdxl } from '../helpers/paths.js';

async function vaeSessions(dir: string): Promise<{ vae: AutoencoderKL; decode: ModelSession; encode: ModelSession }> {
  const vae = new AutoencoderKL(loadAutoencoderKLConfig(dir));
  const weights = openComponentWeights(dir);
  bindVaeWeights(vae, weights);
  const opts = { weightsDir: weights.weightsDir, threads: 1 };
  const decode = await ModelSession.create(buildVaeDecodeGraph(vae).toModelProto(), opts);
  const encode = await ModelSession.create(buildVaeEncodeGraph(vae).toModelProto(), opts);
  return { vae, decode, encode };
}

for (const [name, root] of [['tiny-sd', tinySd], ['tiny-sdxl', tinySdxl]] as const) {
  test(`${name} vae: decode and encode match diffusers within 1e-4`, async (t) => {
    const { decode, encode } = await vaeSessions(join(root, 'vae'));
    const rel = `${name}/vae`;
    const z = oracleF32(rel, 'decode.input');
    const want = oracleF32(rel, 'decode.output');
    const got = (await decode.run({ latent_sample: z })).sample!;
    assert.deepEqual(got.shape, want.shape);
    const dDec = maxAbsDiff(got, want.data);
    assert.ok(dDec < 1e-4, `decode max abs diff ${dDec}`);
    t.diagnostic(`decode max abs diff ${dDec.toExponential(2)}`);

    const x = oracleF32(rel, 'encode.input');
    const out = await encode.run({ sample: x });
    for (const k of ['mean', 'logvar', 'std'] as const) {
      const w = oracleF32(rel, `encode.${k}`);
      assert.deepEqual(out[k]!.shape, w.shape, k);
      const d = maxAbsDiff(out[k]!, w.data);
      assert.ok(d < 1e-4, `encode.${k} max abs diff ${d}`);
      t.diagnostic(`encode.${k} max abs diff ${d.toExponential(2)}`);
    }
    await decode.release();
    await encode.release();
  });
}

test('tiny-sd vae: the explicit softmax attention decodes like the fused one', async () => {
  const dir = join(tinySd, 'vae');
  const vae = new AutoencoderKL(loadAutoencoderKLConfig(dir));
  const weights = openComponentWeights(dir);
  bindVaeWeights(vae, weights);
  const s = await ModelSession.create(buildVaeDecodeGraph(vae, { fusedAttention: false }).toModelProto(), { weightsDir: weights.weightsDir, threads: 1 });
  const got = (await s.run({ latent_sample: oracleF32('tiny-sd/vae', 'decode.input') })).sample!;
  const d = maxAbsDiff(got, oracleF32('tiny-sd/vae', 'decode.output').data);
  assert.ok(d < 1e-4, `decode max abs diff ${d}`);
  await s.release();
});

test('tiny-sdxl vae: a non-square latent decodes to ×8 on each side; batch is dynamic', async () => {
  const { decode, vae } = await vaeSessions(join(tinySdxl, 'vae'));
  assert.equal(vaeScaleFactor(vae.config), 8);
  const z: Tensor = { data: Float32Array.from({ length: 2 * 4 * 6 * 10 }, (_, i) => Math.sin(i * 0.37)), shape: [2, 4, 6, 10] };
  const out = (await decode.run({ latent_sample: z })).sample!;
  assert.deepEqual(out.shape, [2, 3, 48, 80]);
  assert.ok(out.data.every(Number.isFinite));
  // Batch items are independent: item 1 alone decodes to the second half.
  const one = (await decode.run({ latent_sample: { data: z.data.slice(4 * 60), shape: [1, 4, 6, 10] } })).sample!;
  assert.ok(maxAbsDiff(one.data, out.data.subarray(3 * 48 * 80)) < 1e-5);
  await decode.release();
});

test('vae structure follows the config and uses every weight in the file', () => {
  for (const root of [tinySd, tinySdxl]) {
    const dir = join(root, 'vae');
    const config = loadAutoencoderKLConfig(dir);
    const vae = new AutoencoderKL(config);
    const weights = openComponentWeights(dir);
    const declared = [...vae.namedParameters()].map(([k]) => k).sort();
    assert.deepEqual(declared, [...weights.keys()].sort());
    const n = config.block_out_channels.length;
    assert.equal(vae.encoder.down_blocks.length, n);
    assert.equal(vae.decoder.up_blocks.length, n);
    assert.equal(vae.decoder.up_blocks.at(0).resnets.length, config.layers_per_block + 1);
    assert.equal(vae.encoder.down_blocks.at(0).resnets.length, config.layers_per_block);
    assert.ok(vae.encoder.down_blocks.at(n - 2).downsamplers && !vae.encoder.down_blocks.at(n - 1).downsamplers);
    assert.ok(vae.decoder.up_blocks.at(n - 2).upsamplers && !vae.decoder.up_blocks.at(n - 1).upsamplers);
  }
  const sd = new AutoencoderKL(loadAutoencoderKLConfig(join(tinySd, 'vae')));
  bindVaeWeights(sd, openComponentWeights(join(tinySd, 'vae')));
  assert.equal(vaeScaleFactor(sd.config), 2);
  // [32, 64]: the channel change gets a 1×1 shortcut; same-width resnets have none.
  assert.ok(sd.encoder.down_blocks.at(1).resnets.at(0).conv_shortcut);
  assert.equal(sd.encoder.down_blocks.at(0).resnets.at(0).conv_shortcut, undefined);
  const g = buildVaeDecodeGraph(sd);
  const ops = g.opTypes();
  assert.equal(ops.filter((o) => o === 'MultiHeadAttention').length, 1, 'one (fused) attention in the decoder mid block');
  assert.equal(ops.filter((o) => o === 'Softmax').length, 0);
  const explicit = buildVaeDecodeGraph(sd, { fusedAttention: false }).opTypes();
  assert.equal(explicit.filter((o) => o === 'Softmax').length, 1);
  assert.equal(explicit.filter((o) => o === 'MultiHeadAttention').length, 0);
  assert.equal(ops.filter((o) => o === 'Resize').length, 1, 'one upsampler for two levels');
  const e = buildVaeEncodeGraph(sd).opTypes();
  assert.equal(e.filter((o) => o === 'Pad').length, 1, 'one asymmetric-pad downsampler for two levels');
});

test('old checkpoints naming attention query/key/value/proj_attn load and decode the same', async () => {
  const src = join(tinySdxl, 'vae');
  const dir = mkdtempSync(join(tmpdir(), 'acc-vae-legacy-'));
  const renamed: Record<string, { shape: readonly number[]; data: Float32Array }> = {};
  const newToOld: Record<string, string> = { to_q: 'query', to_k: 'key', to_v: 'value', 'to_out.0': 'proj_attn' };
  let legacy = 0;
  for (const [k, t] of loadSafetensors(join(src, 'diffusion_pytorch_model.safetensors'))) {
    const m = /^(.*\.attentions\.0\.)(to_q|to_k|to_v|to_out\.0)\.(weight|bias)$/.exec(k);
    const key = m ? `${m[1]}${newToOld[m[2]!]}.${m[3]}` : k;
    if (m) legacy++;
    renamed[key] = { shape: t.shape, data: t.data as Float32Array };
  }
  assert.equal(legacy, 16, 'encoder and decoder attention: 4 linears × weight, bias × 2');
  writeSafetensors(join(dir, 'diffusion_pytorch_model.safetensors'), renamed);
  const vae = new AutoencoderKL(loadAutoencoderKLConfig(src));
  const weights = openComponentWeights(dir);
  bindVaeWeights(vae, weights);
  const s = await ModelSession.create(buildVaeDecodeGraph(vae).toModelProto(), { weightsDir: weights.weightsDir, threads: 1 });
  const z = oracleF32('tiny-sdxl/vae', 'decode.input');
  const got = (await s.run({ latent_sample: z })).sample!;
  assert.ok(maxAbsDiff(got, oracleF32('tiny-sdxl/vae', 'decode.output').data) < 1e-4);
  await s.release();
});

test('weights that disagree with the config are a WeightsError naming the key', () => {
  const sdxlConfig = loadAutoencoderKLConfig(join(tinySdxl, 'vae'));
  const vae = new AutoencoderKL(sdxlConfig);
  assert.throws(() => bindVaeWeights(vae, openComponentWeights(join(tinySd, 'vae'))), (e: unknown) => e instanceof WeightsError && /"(encoder|decoder|quant_conv|post_quant_conv)\./.test((e as Error).message));
  const noQuant = new AutoencoderKL({ ...sdxlConfig, use_quant_conv: false });
  assert.throws(() => bindVaeWeights(noQuant, openComponentWeights(join(tinySdxl, 'vae'))), /weight "quant_conv\.(weight|bias)" is not part of the model/);
});

test('vae config: diffusers defaults, scale factor, and ConfigError naming file, field and value', () => {
  const json = JSON.parse(readFileSync(join(tinySdxl, 'vae', 'config.json'), 'utf8'));
  const c = parseAutoencoderKLConfig(json, 'vae/config.json');
  assert.deepEqual(c.block_out_channels, [16, 32, 32, 32]);
  assert.equal(c.scaling_factor, 0.13025);
  assert.equal(c.force_upcast, true);
  assert.equal(c.layers_per_block, 2);
  assert.equal(c.norm_num_groups, 8);
  assert.equal(vaeScaleFactor(c), 8);
  const d = parseAutoencoderKLConfig({}, 'x.json');
  assert.deepEqual(d.block_out_channels, [64]);
  assert.equal(d.scaling_factor, 0.18215);
  assert.equal(d.latent_channels, 4);
  assert.equal(d.norm_num_groups, 32);
  assert.equal(d.use_quant_conv, true);
  assert.equal(vaeScaleFactor(d), 1);
  const bad = (patch: Record<string, unknown>, re: RegExp): void => {
    assert.throws(() => parseAutoencoderKLConfig({ ...json, ...patch }, 'vae/config.json'), (e: unknown) => e instanceof ConfigError && re.test((e as Error).message), JSON.stringify(patch));
  };
  bad({ scaling_factor: -1 }, /^vae\/config\.json: scaling_factor is -1, expected a positive number/);
  bad({ scaling_factor: '0.18' }, /scaling_factor is "0.18"/);
  bad({ force_upcast: 'yes' }, /force_upcast is "yes", expected true or false/);
  bad({ block_out_channels: [] }, /block_out_channels is \[\], expected a non-empty list/);
  bad({ block_out_channels: [16, 0, 32, 32] }, /block_out_channels\[1\] is 0/);
  bad({ layers_per_block: 0 }, /layers_per_block is 0, expected an integer >= 1/);
  bad({ latent_channels: 2.5 }, /latent_channels is 2.5/);
  bad({ norm_num_groups: 7 }, /norm_num_groups is 7, expected a divisor of every block_out_channels entry \(block_out_channels\[0\] = 16\)/);
  bad({ down_block_types: ['DownEncoderBlock2D', 'Foo', 'DownEncoderBlock2D', 'DownEncoderBlock2D'] }, /unknown block type "Foo" in down_block_types\[1\]/);
  bad({ up_block_types: ['UpDecoderBlock2D'] }, /up_block_types is \["UpDecoderBlock2D"\], expected 4 entries/);
  bad({ act_fn: 'tanh' }, /act_fn is "tanh", expected one of silu/);
  assert.throws(() => parseAutoencoderKLConfig([1], 'a.json'), /a.json: expected a JSON object/);
  assert.throws(() => loadAutoencoderKLConfig(join(tinySdxl, 'nope')), ConfigError);
});
