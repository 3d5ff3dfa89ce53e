/**
 * UNet graph variants for the Attn-SF and ScaleCrafter baselines (issue 6): the run-time re-dilated conv
 * equals ONNX Conv with the dilations attribute (d = 1..4, odd and UNet-sized maps, stride 1 and 2); the UNet's redilate option puts conv_dilation-driven convs
 * exactly at the chosen layers and nowhere else, and with every dilation 1 reproduces the plain UNet; the
 * self-attention token-ratio option scales attn1 only, is a no-op at ratio 1, and agrees between the fused
 * and explicit attention paths.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { GraphBuilder } from '../../src/graph/builder.js';
import { onnx } from '../../src/graph/onnx-proto.js';
import { ModelSession } from '../../src/engine/session.js';
import { redilatedConv } from '../../src/models/redilated-conv.js';
import { buildUNetGraph, redilatableConvs } from '../../src/models/unet-2d-condition.js';
import { loadUNet } from '../../src/loading/component-folder.js';
import { maxAbsDiff, type Tensor } from '../../src/tensor/tensor.js';
import { tinySd } from '../helpers/paths.js';
import { randomTensor, rng, unetSession } from './unet-helpers.js';

const loaded = loadUNet(join(tinySd, 'unet'));
const { model, weights } = loaded;

interface NodeInfo { opType: string; name: string; input: string[]; output: string[]; attribute: Array<{ name: string; ints?: unknown[] }> }
function nodesOf(g: GraphBuilder): NodeInfo[] {
  const m = onnx.ModelProto.toObject(onnx.ModelProto.decode(g.toModelProto()), { longs: Number, defaults: false }) as { graph: { node: NodeInfo[]; input: Array<{ name: string }> } };
  return m.graph.node.map((n) => ({ ...n, input: n.input ?? [], output: n.output ?? [], attribute: n.attribute ?? [] }));
}

test('re-dilated conv equals Conv with dilations=[d,d] for d = 1..4 (stride 1 and 2, sizes not multiples of d, UNet-sized maps)', async (t) => {
  const convs = redilatableConvs(model);
  for (const path of ['mid_block.resnets.0.conv1', 'down_blocks.0.downsamplers.0.conv']) {
    const conv = convs.get(path)!;
    const g = new GraphBuilder('conv');
    const x = g.input('x', 'float32', [1, conv.inChannels, 'h', 'w']);
    const d = g.input('d', 'int64', []);
    g.output(redilatedConv(g, conv, x, d), 'runtime');
    const ds = [1, 2, 3, 4];
    const statics = ds.map((k) => g.scope(`static${k}`, () => conv.forward(g, x, k)));
    statics.forEach((v, k) => g.output(v, `static_${k + 1}`));
    const dilAttrs = nodesOf(g).filter((n) => n.opType === 'Conv').map((n) => (n.attribute.find((a) => a.name === 'dilations')?.ints ?? []).join(','));
    assert.deepEqual(dilAttrs.sort(), ['1,1', '1,1', '2,2', '3,3', '4,4']);
    const s = await ModelSession.create(g.toModelProto(), { weightsDir: weights.weightsDir, threads: 1 });
    // 11×7: no side a multiple of 2, 3 or 4; 32×32 and 24×40: the maps a 4x/3x latent gives the UNet levels
    for (const [h, w] of [[11, 7], [32, 32], [24, 40]] as const) {
      const input = randomTensor([1, conv.inChannels, h, w], rng(3));
      for (const k of ds) {
        const out = await s.run({ x: input, d: { data: BigInt64Array.of(BigInt(k)), shape: [] } });
        const want = out[`static_${k}`]!;
        assert.deepEqual(out.runtime!.shape, want.shape, `${path} ${h}×${w} d=${k}`);
        const diff = maxAbsDiff(out.runtime!, want);
        t.diagnostic(`${path} ${h}×${w} dilation ${k}: shape [${want.shape}], max abs diff ${diff.toExponential(2)}`);
        assert.ok(diff < 1e-5, `${path} ${h}×${w} d=${k} differs by ${diff}`);
      }
    }
    await s.release();
  }
});

test('redilate option: conv_dilation drives exactly the chosen convs; all ones reproduce the plain UNet', async (t) => {
  const chosen = ['down_blocks.1.resnets.0.conv1', 'mid_block.resnets.1.conv2', 'up_blocks.0.upsamplers.0.conv'];
  const g = buildUNetGraph(model, { redilate: chosen });
  const nodes = nodesOf(g);
  const scopeOf = (n: NodeInfo): string => n.name.split('/')[0]!;
  // Gathers reading conv_dilation, one per chosen conv, in its scope with its index
  const gathers = nodes.filter((n) => n.opType === 'Gather' && n.input[0] === 'conv_dilation');
  assert.deepEqual(gathers.map(scopeOf).sort(), [...chosen].sort());
  // one Conv per chosen conv sits in that conv's own scope and reads the phase-split input (a Reshape);
  // the graph has as many Convs as the plain one, all with dilations [1, 1] (the dilation is the phase split)
  const producer = new Map(nodes.flatMap((n) => n.output.map((o) => [o, n] as const)));
  const convNodes = nodes.filter((m) => m.opType === 'Conv');
  assert.equal(convNodes.length, buildUNetGraph(model).opTypes().filter((o) => o === 'Conv').length);
  const inChosen = convNodes.filter((n) => chosen.includes(scopeOf(n)));
  assert.deepEqual(inChosen.map(scopeOf).sort(), [...chosen].sort());
  for (const n of inChosen) assert.equal(producer.get(n.input[0]!)?.opType, 'Reshape', n.name);
  for (const n of convNodes) assert.deepEqual(n.attribute.find((a) => a.name === 'dilations')?.ints, [1, 1]);
  assert.throws(() => buildUNetGraph(model, { redilate: ['conv_in.bogus'] }), /not a 3×3/);
  // numerics: dilation 1 everywhere = plain UNet; dilation 2 changes the output
  const plain = await unetSession(model, weights.weightsDir);
  const re = await unetSession(model, weights.weightsDir, { redilate: chosen });
  const next = rng(11);
  const feeds: Record<string, Tensor> = {
    sample: randomTensor([2, 4, 16, 16], next),
    timestep: { data: Float32Array.of(500), shape: [1] },
    encoder_hidden_states: randomTensor([2, 7, 32], next),
  };
  const ones = { data: BigInt64Array.from(chosen, () => 1n), shape: [chosen.length] };
  const twos = { data: BigInt64Array.from(chosen, () => 2n), shape: [chosen.length] };
  const a = (await plain.run(feeds)).out_sample!;
  const b = (await re.run({ ...feeds, conv_dilation: ones })).out_sample!;
  const c = (await re.run({ ...feeds, conv_dilation: twos })).out_sample!;
  const same = maxAbsDiff(a, b);
  const changed = maxAbsDiff(a, c);
  t.diagnostic(`dilation 1 vs plain ${same.toExponential(2)}, dilation 2 vs plain ${changed.toExponential(2)}`);
  assert.ok(same < 1e-5);
  assert.ok(changed > 1e-3);
  await plain.release();
  await re.release();
});

test('selfAttentionTokenRatio scales attn1 queries only; ratio 1 is the plain graph; fused = explicit', async (t) => {
  const plain = buildUNetGraph(model);
  const one = buildUNetGraph(model, { selfAttentionTokenRatio: 1 });
  assert.deepEqual(one.opTypes(), plain.opTypes());
  const g = buildUNetGraph(model, { selfAttentionTokenRatio: 4 });
  const nodes = nodesOf(g);
  const producer = new Map(nodes.flatMap((n) => n.output.map((o) => [o, n] as const)));
  const mha = nodes.filter((n) => n.opType === 'MultiHeadAttention');
  const attn1 = mha.filter((n) => n.name.includes('.attn1/'));
  const attn2 = mha.filter((n) => n.name.includes('.attn2/'));
  assert.equal(attn1.length, 6);
  assert.equal(attn2.length, 6);
  for (const n of attn1) assert.equal(producer.get(n.input[0]!)?.opType, 'Mul', n.name);
  for (const n of attn2) assert.notEqual(producer.get(n.input[0]!)?.opType, 'Mul', n.name);
  assert.equal(nodes.filter((n) => n.opType === 'Sqrt').length, 6);
  // numerics at a 2x latent (4x tokens)
  const next = rng(5);
  const feeds: Record<string, Tensor> = {
    sample: randomTensor([2, 4, 64, 64], next),
    timestep: { data: Float32Array.of(700), shape: [1] },
    encoder_hidden_states: randomTensor([2, 7, 32], next),
  };
  const outs: Tensor[] = [];
  for (const o of [{}, { selfAttentionTokenRatio: 4 }, { selfAttentionTokenRatio: 4, attention: 'explicit' as const }]) {
    const s = await unetSession(model, weights.weightsDir, o);
    outs.push((await s.run(feeds)).out_sample!);
    await s.release();
  }
  const fusedVsExplicit = maxAbsDiff(outs[1]!, outs[2]!);
  const scaledVsPlain = maxAbsDiff(outs[0]!, outs[1]!);
  t.diagnostic(`fused vs explicit ${fusedVsExplicit.toExponential(2)}, scaled vs plain ${scaledVsPlain.toExponential(2)}`);
  assert.ok(fusedVsExplicit < 1e-4);
  assert.ok(scaledVsPlain > 1e-4);
});
