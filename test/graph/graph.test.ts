import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdtempSync, symlinkSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { GraphBuilder } from '../../src/graph/builder.js';
import { Module, bindWeights } from '../../src/graph/module.js';
import { Embedding, Linear, GroupNorm } from '../../src/graph/nn.js';
import { onnx } from '../../src/graph/onnx-proto.js';
import { openComponentWeights } from '../../src/weights/component-weights.js';
import { readTensor, writeSafetensors } from '../../src/weights/safetensors.js';
import { ModelSession } from '../../src/engine/session.js';
import { tinySd } from '../helpers/paths.js';
import { WeightsError } from '../../src/errors.js';

class Emb extends Module {
  readonly token_embedding = new Embedding(1000, 32);
}

test('external initializers point into the safetensors file and run through onnxruntime', async () => {
  const dir = join(tinySd, 'text_encoder');
  const weights = openComponentWeights(dir);
  const m = new Emb();
  bindWeights(m, weights, { prefix: 'text_model.embeddings', ignoreExtra: () => true });
  const g = new GraphBuilder('emb');
  const ids = g.input('input_ids', 'int64', ['batch', 3]);
  g.output(m.token_embedding.forward(g, ids), 'out');
  const bytes = g.toModelProto();
  const decoded = onnx.ModelProto.decode(bytes) as unknown as { graph: { initializer: Array<{ dataLocation: number; name: string }> } };
  assert.equal(decoded.graph.initializer[0]!.dataLocation, 1, 'weights are external data');
  assert.ok(bytes.length < 4096, 'the model bytes hold no weights');
  const session = await ModelSession.create(bytes, { weightsDir: weights.weightsDir, threads: 1 });
  const out = await session.run({ input_ids: { data: BigInt64Array.from([5n, 0n, 999n]), shape: [1, 3] } });
  const table = readTensor(weights.headers[0]!, 'text_model.embeddings.token_embedding.weight').data as Float32Array;
  const got = out.out!.data;
  for (const [row, id] of [5, 0, 999].entries()) {
    assert.deepEqual(Array.from(got.subarray(row * 32, row * 32 + 32)), Array.from(table.subarray(id * 32, id * 32 + 32)));
  }
  await session.release();
});

test('fp16 weights are cast inside the graph; symlinked files (HF cache layout) resolve', async () => {
  const root = mkdtempSync(join(tmpdir(), 'acc-graph-'));
  mkdirSync(join(root, 'blobs'));
  mkdirSync(join(root, 'snap', 'lin'), { recursive: true });
  const half = Uint16Array.from([0x3c00, 0x4000, 0x4200, 0x4400, 0x4500, 0x4600]); // 1..6 in fp16
  writeSafetensors(join(root, 'blobs', 'abc123'), { 'lin.weight': { shape: [3, 2], data: half, dtype: 'F16' }, 'lin.bias': { shape: [3], data: Float32Array.from([0.5, -1, 2]) } });
  symlinkSync(join('..', '..', 'blobs', 'abc123'), join(root, 'snap', 'lin', 'model.safetensors'));
  const weights = openComponentWeights(join(root, 'snap', 'lin'));
  class L extends Module { readonly lin = new Linear(2, 3); }
  const m = new L();
  bindWeights(m, weights);
  const g = new GraphBuilder('lin');
  const x = g.input('x', 'float32', [1, 2]);
  g.output(m.lin.forward(g, x), 'y');
  const s = await ModelSession.create(g.toModelProto(), { weightsDir: weights.weightsDir, threads: 1 });
  const y = (await s.run({ x: { data: Float32Array.from([1, -1]), shape: [1, 2] } })).y!;
  // y = x Wᵀ + b with W = [[1,2],[3,4],[5,6]]
  assert.deepEqual(Array.from(y.data), [1 - 2 + 0.5, 3 - 4 - 1, 5 - 6 + 2]);
});

test('binding names the missing key, the shape mismatch and the unexpected key', () => {
  const weights = openComponentWeights(join(tinySd, 'text_encoder'));
  class Wrong extends Module { readonly token_embedding = new Embedding(999, 32); }
  assert.throws(() => bindWeights(new Wrong(), weights, { prefix: 'text_model.embeddings', ignoreExtra: () => true }), (e: unknown) => e instanceof WeightsError && /token_embedding.weight" has shape \[1000,32\] but the config implies \[999,32\]/.test((e as Error).message));
  class Missing extends Module { readonly nope = new Embedding(1, 1); }
  assert.throws(() => bindWeights(new Missing(), weights, { ignoreExtra: () => true }), /missing weight "nope.weight"/);
  assert.throws(() => bindWeights(new Emb(), weights, { prefix: 'text_model.embeddings' }), /is not part of the model/);
});

test('GroupNorm from InstanceNormalization matches a direct computation', async () => {
  const root = mkdtempSync(join(tmpdir(), 'acc-gn-'));
  const C = 4, G = 2, H = 2, W = 3;
  const gamma = Float32Array.from([1, 2, 0.5, -1]);
  const beta = Float32Array.from([0, 1, -1, 0.25]);
  writeSafetensors(join(root, 'model.safetensors'), { 'norm.weight': { shape: [C], data: gamma }, 'norm.bias': { shape: [C], data: beta } });
  class N extends Module { readonly norm = new GroupNorm(G, C, 1e-5); }
  const m = new N();
  const weights = openComponentWeights(root);
  bindWeights(m, weights);
  const g = new GraphBuilder('gn');
  g.output(m.norm.forward(g, g.input('x', 'float32', [1, C, H, W])), 'y');
  const s = await ModelSession.create(g.toModelProto(), { weightsDir: weights.weightsDir, threads: 1 });
  const x = Float32Array.from({ length: C * H * W }, (_, i) => Math.sin(i * 1.3) * 3 + i * 0.1);
  const y = (await s.run({ x: { data: x, shape: [1, C, H, W] } })).y!.data;
  const per = (C / G) * H * W;
  for (let gi = 0; gi < G; gi++) {
    const seg = x.subarray(gi * per, (gi + 1) * per);
    const mean = seg.reduce((a, b) => a + b, 0) / per;
    const v = seg.reduce((a, b) => a + (b - mean) ** 2, 0) / per;
    for (let i = 0; i < per; i++) {
      const c = gi * (C / G) + Math.floor(i / (H * W));
      const want = ((seg[i]! - mean) / Math.sqrt(v + 1e-5)) * gamma[c]! + beta[c]!;
      assert.ok(Math.abs(y[gi * per + i]! - want) < 1e-5);
    }
  }
  assert.throws(() => openComponentWeights(join(root, 'missing')), WeightsError);
});

test('split() divides an axis into equal parts under opset 17', async () => {
  const { split } = await import('../../src/graph/ops.js');
  const g = new GraphBuilder('split');
  const x = g.input('x', 'float32', [2, 6]);
  const parts = split(g, x, 3, 1);
  parts.forEach((p, i) => g.output(p, `p${i}`));
  const s = await ModelSession.create(g.toModelProto(), { weightsDir: tmpdir(), threads: 1 });
  const out = await s.run({ x: { data: Float32Array.from({ length: 12 }, (_, i) => i), shape: [2, 6] } });
  assert.deepEqual(Array.from(out.p1!.data), [2, 3, 8, 9]);
});
