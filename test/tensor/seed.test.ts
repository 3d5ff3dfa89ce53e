/**
 * 64-bit seeds (issue 11.2): torch's `Generator().manual_seed(s)` takes 0 <= s < 2^64 and seeds mt19937 with
 * the low 32 bits, so s and s + k·2^32 draw the same noise; the fixtures' torch-drawn tensors check that for
 * seeds past 2^53 and up to 2^64 − 1. The secondary (jitter) stream is seed + 1 as a uint64, without overflow,
 * so a whole generation at 2^64 − 1 equals one at 2^32 − 1 exactly, and 2^53 − 1 (which crashed) runs.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { generate } from '../../src/pipeline/generate.js';
import { Components } from '../../src/loading/components.js';
import { resolveOptions } from '../../src/options/index.js';
import { OptionsError } from '../../src/errors.js';
import { bigintAsString, MAX_SEED, nextSeed, toSeed } from '../../src/tensor/seed.js';
import { maxAbsDiff } from '../../src/tensor/tensor.js';
import { TorchGenerator } from '../../src/tensor/torch-generator.js';
import { oracleF32 } from '../helpers/oracle.js';
import { tinySd } from '../helpers/paths.js';

test('toSeed and nextSeed: the whole uint64 range, numbers while safe, wrap at 2^64', () => {
  assert.equal(toSeed(0), 0);
  assert.equal(toSeed('42'), 42);
  assert.equal(toSeed(9007199254740991), 9007199254740991);
  assert.equal(toSeed('9007199254740992'), 9007199254740992n);
  assert.equal(toSeed('18446744073709551615'), MAX_SEED);
  assert.equal(toSeed(MAX_SEED), MAX_SEED);
  for (const bad of ['18446744073709551616', '-1', '1.5', '1e3', '', 'abc', -1, 1.5, 2 ** 60, NaN, 2n ** 64n, -1n]) {
    assert.equal(toSeed(bad), undefined, String(bad));
  }
  assert.equal(nextSeed(41), 42);
  assert.equal(nextSeed(9007199254740991), 9007199254740992n);
  assert.equal(nextSeed(MAX_SEED), 0);
  assert.equal(JSON.stringify({ seed: MAX_SEED, n: 1 }, bigintAsString), '{"seed":"18446744073709551615","n":1}');
});

test('seeds past 2^53 draw torch\'s noise: the fixture tensors of seed s from s + k·2^32, up to 2^64 − 1', () => {
  for (const [rel, name, seed] of [['tiny-sd/unet', 'sample', 11n], ['accdiffusion/accdiffusion_corgi', 'latents_in', 88n]] as const) {
    const want = oracleF32(rel, name);
    for (const big of [seed + (1n << 53n), seed + (1n << 63n), MAX_SEED - 0xffffffffn + seed]) {
      const got = new TorchGenerator(big).randn(want.shape);
      assert.equal(maxAbsDiff(got, want), 0, `${rel} ${name} with seed ${big}`);
    }
  }
  const g = new TorchGenerator(MAX_SEED);
  assert.equal(g.initialSeed(), MAX_SEED);
  const state = JSON.parse(JSON.stringify(g.getState())) as ReturnType<TorchGenerator['getState']>;
  const h = new TorchGenerator(0);
  h.setState(state);
  assert.equal(h.initialSeed(), MAX_SEED);
  assert.equal(maxAbsDiff(h.randn([20]), g.randn([20])), 0);
});

test('resolveOptions: seeds as number, bigint or string; refusals name the range', () => {
  const base = { prompt: 'x', width: 64, height: 64 };
  assert.equal(resolveOptions({ ...base, seed: '18446744073709551615' }, 32).seed, MAX_SEED);
  assert.equal(resolveOptions({ ...base, seed: 7n }, 32).seed, 7);
  assert.throws(() => resolveOptions({ ...base, seed: 2 ** 60 }, 32), (e: Error) => e instanceof OptionsError && /pass it as a bigint or string/.test(e.message));
  assert.throws(() => resolveOptions({ ...base, seed: '18446744073709551616' }, 32), /seed must be an integer from 0 to 2\^64 − 1, got "18446744073709551616"/);
});

test('tiny-sd demofusion 2x: seed 2^64 − 1 equals seed 2^32 − 1 (jitter stream included); 2^53 − 1 runs', async () => {
  const components = await Components.load(tinySd, { threads: 1 });
  try {
    const base = { prompt: 'a corgi', width: 128, height: 128, steps: 2, method: 'demofusion' as const };
    const a = await generate(components, { ...base, seed: MAX_SEED });
    const b = await generate(components, { ...base, seed: 2 ** 32 - 1 });
    assert.equal(maxAbsDiff(a.stages[1]!.latents, b.stages[1]!.latents), 0);
    assert.equal(a.report.options.seed, MAX_SEED);
    const c = await generate(components, { ...base, seed: Number.MAX_SAFE_INTEGER });
    assert.equal(c.stages.length, 2);
  } finally {
    await components.dispose();
  }
});
