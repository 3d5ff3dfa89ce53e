/**
 * TorchGenerator against tensors that PyTorch 1.13 (CPU) drew from known seeds in the oracle fixtures
 * (ORACLE-README §4.4–4.8, §6): every comparison is for bit equality.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { TorchGenerator } from '../../src/tensor/torch-generator.js';
import { Mt19937 } from '../../src/tensor/mt19937.js';
import { fma32 } from '../../src/tensor/fma32.js';
import { oracle, oracleF32, oracleJson } from '../helpers/oracle.js';

function assertBitEqual(got: Float32Array, want: Float32Array, what: string): void {
  assert.equal(got.length, want.length, what);
  let bad = 0;
  for (let i = 0; i < got.length; i++) if (!Object.is(got[i], want[i])) bad++;
  assert.equal(bad, 0, `${what}: ${bad} of ${got.length} values differ`);
}

test('mt19937 matches the reference sequence (seed 5489: 10000th output 4123659995)', () => {
  const m = new Mt19937(5489);
  let v = 0;
  for (let i = 0; i < 10000; i++) v = m.nextUint32();
  assert.equal(v, 4123659995);
  const a = new Mt19937(2 ** 32 + 7);
  const b = new Mt19937(7);
  assert.equal(a.nextUint32(), b.nextUint32());
});

test('randn reproduces every seeded fixture tensor bit for bit', () => {
  const cases: [string, string, number][] = [
    ['tiny-sd/pipeline_ddim', 'latents_in', 31],
    ['tiny-sd/pipeline_euler', 'latents_in', 32],
    ['tiny-sdxl/pipeline_euler', 'latents_in', 41],
    ['tiny-sd/unet', 'sample', 11],
    ['tiny-sdxl/unet', 'sample', 12],
    ['tiny-sd/vae', 'decode.input', 21],
    ['tiny-sdxl/vae', 'decode.input', 22],
    ['accdiffusion/accdiffusion_corgi', 'latents_in', 88],
    ['accdiffusion/accdiffusion_astronaut_noshuffle', 'latents_in', 42],
  ];
  for (const [rel, name, seed] of cases) {
    const want = oracleF32(rel, name);
    assertBitEqual(new TorchGenerator(seed).randn(want.shape).data, want.data, `${rel}:${name} seed ${seed}`);
  }
  assert.equal(oracleJson('tiny-sd/pipeline_euler').latents_in_seed, 32);
});

test('scheduler trace sample (seed 51) and model-output noise M (seed 52)', () => {
  const s = oracleF32('schedulers/schedulers', 'ddim.trace.sample_in');
  assertBitEqual(new TorchGenerator(51).randn([1, 4, 8, 8]).data, s.data.slice(0, 256), 'seed 51');
  // model_output = 0.3·model_input + 0.7·M, so M is recoverable to float rounding.
  const mi = oracleF32('schedulers/schedulers', 'ddim.trace.model_input').data;
  const mo = oracleF32('schedulers/schedulers', 'ddim.trace.model_output').data;
  const M = new TorchGenerator(52).randn([4, 8, 8]).data;
  for (let i = 0; i < 256; i++) assert.ok(Math.abs((mo[i]! - 0.3 * mi[i]!) / 0.7 - M[i]!) < 1e-6);
});

test('rand: the VAE encode input U(-1, 1) (seed = decode seed + 1)', () => {
  for (const [rel, seed] of [['tiny-sd/vae', 22], ['tiny-sdxl/vae', 23]] as const) {
    const want = oracleF32(rel, 'encode.input');
    assertBitEqual(new TorchGenerator(seed).rand(want.shape, -1, 1).data, want.data, `${rel} encode.input`);
  }
});

test('the AccDiffusion global stream: randn_like per phase and every randperm, in call order', () => {
  // torch.manual_seed(seed); each upscale phase draws one randn_like, then 4 steps × C·h·w randperm(views).
  for (const name of ['accdiffusion_corgi', 'accdiffusion_corgi_1024_unmodified']) {
    const rel = `accdiffusion/${name}`;
    const o = oracle(rel);
    const meta = oracleJson(rel);
    const g = new TorchGenerator(meta.seed);
    const perms = o.get('random.randperm_concat')!.data as Uint8Array;
    const runs = meta.randperm_run_lengths as [number, number][];
    assert.equal(runs.length, meta.num_randn_like);
    let at = 0;
    runs.forEach(([n, count], phase) => {
      const want = oracleF32(rel, `random.randn_like.${phase}`);
      assertBitEqual(g.randn(want.shape).data, want.data, `${name} randn_like.${phase}`);
      for (let c = 0; c < count; c++) {
        const p = g.randperm(n);
        for (let k = 0; k < n; k++) if (p[k] !== perms[at + k]) assert.fail(`${name}: randperm(${n}) call ${c} differs at ${at + k}`);
        at += n;
      }
    });
    assert.equal(at, perms.length);
  }
});

test('randn of < 16 elements takes the scalar double Box–Muller with a cached second value', () => {
  const g = new TorchGenerator(0);
  const a = g.randn([3]).data;
  const h = new TorchGenerator(0);
  const u1 = h.uniformDouble();
  const u2 = h.uniformDouble();
  const r = Math.sqrt(-2 * Math.log(1 - u2));
  assert.equal(a[0], Math.fround(r * Math.cos(2 * Math.PI * u1)));
  assert.equal(a[1], Math.fround(r * Math.sin(2 * Math.PI * u1)));
  // The third value opens a new pair and caches its sine for the next call.
  const b = g.randn([1]).data;
  const u3 = h.uniformDouble();
  const u4 = h.uniformDouble();
  assert.equal(b[0], Math.fround(Math.sqrt(-2 * Math.log(1 - u4)) * Math.sin(2 * Math.PI * u3)));
  // manualSeed drops the cache.
  assert.deepEqual(g.manualSeed(0).randn([3]).data, a);
});

test('randn tail: a size that is not a multiple of 16 redraws the last 16 uniforms', () => {
  const g = new TorchGenerator(5);
  const x = g.randn([20]).data;
  const y = new TorchGenerator(5).randn([16]).data;
  // Values 0..3 keep the first block's result; 4..19 are overwritten by the redrawn tail block.
  assert.deepEqual(x.slice(0, 4), y.slice(0, 4));
  assert.notDeepEqual(x.slice(4, 16), y.slice(4, 16));
  let m = 0;
  let s = 0;
  const big = new TorchGenerator(9).randn([100000]).data;
  for (const v of big) { m += v; s += v * v; }
  assert.ok(Math.abs(m / big.length) < 0.02 && Math.abs(s / big.length - 1) < 0.02);
});

test('randint and randperm follow torch (random() % range) and stay in range', () => {
  const g = new TorchGenerator(3);
  const h = new Mt19937(3);
  for (let i = 0; i < 100; i++) assert.equal(g.randint(-4, 4), (h.nextUint32() % 9) - 4);
  const p = new TorchGenerator(1).randperm(50);
  assert.deepEqual(Array.from(p).sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
  assert.deepEqual(Array.from(new TorchGenerator(1).randperm(1)), [0]);
  assert.throws(() => g.randint(2, 1), RangeError);
});

test('fma32 rounds once', () => {
  const a = Math.fround(1 + 2 ** -12);
  // a·a = 1 + 2^-11 + 2^-24: the separate product would round the 2^-24 away against the -1.
  assert.equal(fma32(a, a, -1), Math.fround(2 ** -11 + 2 ** -24));
  assert.equal(Math.fround(Math.fround(a * a) - 1), 2 ** -11);
  assert.equal(fma32(3, 5, 7), 22);
});
