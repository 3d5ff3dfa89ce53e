/**
 * Invariants of the denoising branches with a stand-in UNet (spec §13.8, §13.10, §13.13, §13.16 and
 * STYLE §8): averaging ε̂ and stepping once equals averaging per-window steps; CFG with equal halves is
 * the conditional prediction; window interaction routes predictions back; skip residual and merge weights.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import type { Feed, RunnableSession } from '../../src/engine/session.js';
import { UNetRunner, type GuidedCondition } from '../../src/sampling/unet-runner.js';
import { patchBranchNoise } from '../../src/patch/patch-branch.js';
import { dilatedBranchNoise } from '../../src/patch/dilated-branch.js';
import { classifierFreeGuidance } from '../../src/sampling/guidance.js';
import { cosineFactor } from '../../src/patch/skip-residual.js';
import { branchDivisors } from '../../src/patch/reference-compat.js';
import { getViews } from '../../src/patch/views.js';
import { EulerDiscreteScheduler, DDIMScheduler } from '../../src/schedulers/index.js';
import { crop2d, pad2d } from '../../src/tensor/ops.js';
import { tensor, maxAbsDiff, type Tensor } from '../../src/tensor/tensor.js';
import { TorchGenerator } from '../../src/tensor/torch-generator.js';

/** A stand-in UNet session: out = fn(sample row, row index). */
function fakeSession(fn: (row: Float32Array, r: number) => Float32Array): RunnableSession {
  return {
    inputNames: ['sample', 'timestep', 'encoder_hidden_states'],
    run: async (feeds: Record<string, Feed>) => {
      const s = feeds.sample as Tensor;
      const per = s.data.length / s.shape[0]!;
      const out = new Float32Array(s.data.length);
      for (let r = 0; r < s.shape[0]!; r++) out.set(fn(s.data.subarray(r * per, (r + 1) * per), r), r * per);
      return { out_sample: tensor(s.shape, out) };
    },
    release: async () => {},
  };
}

const cond: GuidedCondition = { negative: { embeds: new Float32Array(2 * 3) }, positive: { embeds: new Float32Array(2 * 3) } };

test('CFG: equal halves give the conditional prediction for any scale; layout is interleaved [u, c]', () => {
  const pred = tensor([4, 2], Float32Array.from([1, 2, 1, 2, 5, -1, 3, 3]));
  const g = classifierFreeGuidance(pred, 7.5);
  assert.deepEqual(Array.from(g.data.subarray(0, 2)), [1, 2]);
  assert.deepEqual(Array.from(g.data.subarray(2, 4)), [5 + 7.5 * (3 - 5), -1 + 7.5 * (3 + 1)]);
});

test('patch branch: stepping on the averaged ε̂ equals averaging the per-window steps (Euler and DDIM)', async () => {
  const gen = new TorchGenerator(3);
  const x = gen.randn([1, 4, 24, 20]);
  // ε̂ depends on the window content, so windows disagree where they overlap
  const unet = new UNetRunner(fakeSession((row) => Float32Array.from(row, (v, i) => Math.sin(v * 3 + i * 0.01))), 2, 3);
  const set = getViews({ height: 24, width: 20, window: 16, stride: 8, randint: (lo, hi) => gen.randint(lo, hi) });
  const conds = set.views.map(() => cond);
  // DDIM with clip_sample off (SD's config): with clipping the step is not affine in ε̂.
  for (const scheduler of [new EulerDiscreteScheduler({}), new DDIMScheduler({ clipSample: false })]) {
    scheduler.setTimesteps(10);
    const i = 3;
    const t = scheduler.timesteps[i]!;
    const eps = await patchBranchNoise({ unet, latents: x, views: set.views, padding: { height: set.jitterHeight, width: set.jitterWidth }, conditions: conds, timestep: t, inputDivisor: () => 1, guidance: 5, guidanceRescale: 0, viewBatchSize: 3 });
    const once = scheduler.step(eps, t, x, { stepIndex: i }).prevSample;
    // the reference: step every window crop, then average the stepped crops per cell
    const P = pad2d(x, { top: set.jitterHeight, bottom: set.jitterHeight, left: set.jitterWidth, right: set.jitterWidth });
    const PH = 24 + 2 * set.jitterHeight, PW = 20 + 2 * set.jitterWidth;
    const value = new Float32Array(4 * PH * PW), count = new Float32Array(PH * PW);
    for (const v of set.views) {
      const crop = crop2d(P, v.hStart, v.wStart, 16, 16);
      const { noise } = await unet.predict(crop, t, [cond], { guidance: 5 });
      const stepped = scheduler.step(noise, t, crop, { stepIndex: i }).prevSample;
      for (let c = 0; c < 4; c++) for (let y = 0; y < 16; y++) for (let xx = 0; xx < 16; xx++) {
        value[c * PH * PW + (v.hStart + y) * PW + v.wStart + xx]! += stepped.data[c * 256 + y * 16 + xx]!;
        if (c === 0) count[(v.hStart + y) * PW + v.wStart + xx]! += 1;
      }
    }
    const avg = crop2d(tensor([1, 4, PH, PW], value.map((val, k) => val / count[k % (PH * PW)]!)), set.jitterHeight, set.jitterWidth, 24, 20);
    const d = maxAbsDiff(once, avg);
    assert.ok(d < 1e-5, `${scheduler.constructor.name}: ${d}`);
  }
});

test('patch branch: a zero prediction leaves the latent unchanged (weights sum to 1 per cell)', async () => {
  const x = new TorchGenerator(4).randn([1, 4, 20, 28]);
  const unet = new UNetRunner(fakeSession((row) => new Float32Array(row.length)), 2, 3);
  const set = getViews({ height: 20, width: 28, window: 16, stride: 8, randint: (lo) => lo });
  const eps = await patchBranchNoise({ unet, latents: x, views: set.views, padding: { height: set.jitterHeight, width: set.jitterWidth }, conditions: set.views.map(() => cond), timestep: 500, inputDivisor: () => 1, guidance: 7.5, guidanceRescale: 0, viewBatchSize: 16 });
  assert.equal(maxAbsDiff(eps.data, new Float32Array(eps.data.length)), 0);
});

test('dilated branch: with an identity UNet the routed-back predictions equal the un-shuffled blurred inputs', async () => {
  const x = new TorchGenerator(5).randn([1, 4, 16, 16]);
  const identity = new UNetRunner(fakeSession((row) => row.slice()), 2, 3);
  const args = { unet: identity, latents: x, scale: 2, condition: cond, timestep: 500, inputDivisor: () => 1, guidance: 7.5, guidanceRescale: 0, viewBatchSize: 16, blur: { sigma: 0.8, c3: 0.7 } };
  const plain = await dilatedBranchNoise(args);
  const shuffled = await dilatedBranchNoise({ ...args, shuffle: new TorchGenerator(9) });
  assert.equal(maxAbsDiff(plain, shuffled), 0);
  // and a position-dependent UNet makes the shuffle visible
  const positional = new UNetRunner(fakeSession((row, r) => Float32Array.from(row, (v) => v * (1 + (r >> 1)))), 2, 3);
  const a = await dilatedBranchNoise({ ...args, unet: positional });
  const b = await dilatedBranchNoise({ ...args, unet: positional, shuffle: new TorchGenerator(9) });
  assert.ok(maxAbsDiff(a, b) > 1e-3);
});

test('cosine weights: c1 = cf³ ≤ c2 = cf ≤ 1 and c3 ∈ [0.01, 1]; cf(981) ≈ 0.99911, cf(1) ≈ 2.5e-6', () => {
  assert.ok(Math.abs(cosineFactor(981, 1000) - 0.99911) < 1e-5);
  assert.ok(Math.abs(cosineFactor(1, 1000) - 2.5e-6) < 1e-7);
  for (let t = 1; t <= 1000; t += 37) {
    const cf = cosineFactor(t, 1000);
    assert.ok(cf ** 3 <= cf && cf <= 1);
    const c3 = 0.99 * cf + 0.01;
    assert.ok(c3 >= 0.01 && c3 <= 1);
  }
});

test('reference-compat input scaling (spec B1): first patch batch of step 0 unscaled, later batches use σ_{i+1}', () => {
  const s = new EulerDiscreteScheduler({ timestepSpacing: 'leading', stepsOffset: 1 });
  s.setTimesteps(4);
  const fixed = branchDivisors(s, 1, false);
  const sig = (k: number) => Math.fround(Math.sqrt(Math.fround(Math.fround(s.sigmaAt(k) ** 2) + 1)));
  assert.equal(fixed.patch(0), sig(1));
  assert.equal(fixed.dilated(0), sig(1));
  const c0 = branchDivisors(s, 0, true);
  assert.equal(c0.patch(0), 1);
  assert.equal(c0.patch(1), sig(1));
  assert.equal(c0.dilated(0), sig(1));
  const c2 = branchDivisors(s, 2, true);
  assert.equal(c2.patch(0), sig(2));
  assert.equal(c2.patch(1), sig(3));
  assert.equal(branchDivisors(s, 3, true).dilated(0), 1, 'σ_N = 0 at the last step');
});
