// Dilated sampling geometry and blur: spec §5, §13.9, §13.11, §13.12.
import test from 'node:test';
import assert from 'node:assert/strict';
import {
  blurFactor, blurForDilation, dilationPadding, gatherSubLatents, gaussianBlur, gaussianKernel1d,
  padForDilation, scatterSubLatents, unpadDilation,
} from '../../src/patch/dilated-sampling.js';
import { tensor } from '../../src/tensor/tensor.js';
import { mean, std } from '../../src/tensor/ops.js';

function randomData(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 3 + 0.2;
  });
}

const cf = (t: number): number => 0.5 * (1 + Math.cos((Math.PI * (1000 - t)) / 1000));

test('example kernel weights at t = 981, sigma 0.8, s = 2: [0.2388, 0.5224, 0.2388]', () => {
  const c3 = blurFactor(cf(981));
  const g = gaussianKernel1d(3, 0.8 * c3);
  assert.ok(Math.abs(g[0]! - 0.2388) < 1e-4 && Math.abs(g[1]! - 0.5224) < 1e-4 && Math.abs(g[2]! - 0.2388) < 1e-4, `${g}`);
});

test('Gaussian kernel sums to 1, is symmetric, has size 2s−1; c3 ∈ [0.01, 1] (§13.11, §13.12)', () => {
  for (const s of [2, 3, 4, 5]) {
    for (const t of [981, 501, 1]) {
      const c3 = blurFactor(cf(t));
      assert.ok(c3 >= 0.01 && c3 <= 1);
      const g = gaussianKernel1d(2 * s - 1, 0.8 * c3);
      assert.equal(g.length, 2 * s - 1);
      assert.ok(Math.abs(g.reduce((a, b) => a + b, 0) - 1) < 1e-6);
      for (let u = 0; u < g.length; u++) assert.equal(g[u], g[g.length - 1 - u]);
    }
  }
  assert.equal(blurFactor(1), 1);
  assert.ok(Math.abs(blurFactor(0) - 0.01) < 1e-15);
});

test('blur: constant interior preserved, zero padding darkens borders, hand-computed corner', () => {
  const x = tensor([1, 1, 5, 5], new Float32Array(25).fill(1));
  const g = gaussianKernel1d(3, 0.8);
  const b = gaussianBlur(x, 3, 0.8);
  assert.ok(Math.abs(b.data[12]! - 1) < 1e-6);
  const edge = g[1]! + g[2]!; // one tap falls on the zero padding
  assert.ok(Math.abs(b.data[0]! - edge * edge) < 1e-6);
  assert.ok(Math.abs(b.data[2]! - edge) < 1e-6);
});

test('blur + re-standardisation keeps the global mean and unbiased std (§13.11)', () => {
  for (const s of [2, 3, 4]) {
    const x = tensor([1, 4, 8 * s, 8 * s], randomData(4 * 64 * s * s, s));
    const g = blurForDilation(x, s, 0.8, blurFactor(cf(751)));
    assert.ok(Math.abs(mean(g) - mean(x)) < 1e-4);
    assert.ok(Math.abs(std(g) - std(x)) < 1e-4);
    assert.notDeepEqual(g.data, x.data);
  }
});

test('padding goes on top/left to multiples of s and comes off again', () => {
  assert.deepEqual(dilationPadding(64, 64, 2), { padTop: 0, padLeft: 0 });
  assert.deepEqual(dilationPadding(170, 256, 3), { padTop: 1, padLeft: 2 });
  const x = tensor([1, 2, 7, 5], randomData(70, 9));
  const { padded, padTop, padLeft } = padForDilation(x, 3);
  assert.deepEqual(padded.shape, [1, 2, 9, 6]);
  assert.equal(padded.data[0], 0);
  assert.equal(padded.data[padTop * 6 + padLeft], x.data[0]);
  assert.deepEqual(unpadDilation(padded, padTop, padLeft).data, x.data);
});

test('gather/scatter of the s² strided sub-latents is exact; order is row-major (a outer) (§13.9)', () => {
  for (const s of [1, 2, 3, 4]) {
    const [H, W] = [4 * s, 3 * s];
    const x = tensor([1, 4, H, W], Float32Array.from({ length: 4 * H * W }, (_, i) => i));
    const sub = gatherSubLatents(x, s);
    assert.deepEqual(sub.shape, [s * s, 4, 4, 3]);
    // D_{a,b}[c, y, x] = X[c, y·s + a, x·s + b]
    for (let a = 0; a < s; a++) {
      for (let b = 0; b < s; b++) {
        const v = a * s + b;
        for (const [c, y, xx] of [[0, 0, 0], [3, 3, 2], [1, 2, 1]] as const) {
          assert.equal(sub.data[((v * 4 + c) * 4 + y) * 3 + xx], x.data[(c * H + y * s + a) * W + xx * s + b]);
        }
      }
    }
    // Each element is taken once: the values are a permutation of 0..n−1.
    assert.deepEqual(Array.from(sub.data).sort((p, q) => p - q), Array.from(x.data));
    assert.deepEqual(scatterSubLatents(sub, s).data, x.data);
  }
  // Square stage s·base: each sub-latent has the base latent shape.
  assert.deepEqual(gatherSubLatents(tensor([1, 4, 96, 96]), 3).shape, [9, 4, 32, 32]);
});
