// Tensor helpers: bicubic (PyTorch values), nearest, pad/crop, statistics, morphology (spec §12, §13.3, §13.15).
import test from 'node:test';
import assert from 'node:assert/strict';
import { tensor } from '../../src/tensor/tensor.js';
import {
  crop2d, cubicWeights, dilate, erode, interpolateBicubic, interpolateNearest, mean, opening, pad2d,
  resizeNearestPlane, restandardize, std,
} from '../../src/tensor/ops.js';

test('bicubic 2×2 → 4×4 equals F.interpolate(mode="bicubic", align_corners=False)', () => {
  // torch.nn.functional.interpolate(torch.tensor([[[[1.,2.],[3.,4.]]]]), size=(4,4), mode='bicubic')
  const expected = [
    0.68359375, 1.015625, 1.5625, 1.89453125,
    1.34765625, 1.6796875, 2.2265625, 2.55859375,
    2.44140625, 2.7734375, 3.3203125, 3.65234375,
    3.10546875, 3.4375, 3.984375, 4.31640625,
  ];
  const out = interpolateBicubic(tensor([1, 1, 2, 2], new Float32Array([1, 2, 3, 4])), 4, 4);
  assert.deepEqual(out.shape, [1, 1, 4, 4]);
  for (let i = 0; i < 16; i++) assert.ok(Math.abs(out.data[i]! - expected[i]!) < 1e-6, `${i}: ${out.data[i]}`);
});

test('bicubic hand-computed 1-D case and weights (A = −0.75)', () => {
  // τ = 0.75: w = [−0.03515625, 0.26171875, 0.87890625, −0.10546875]
  assert.deepEqual(cubicWeights(0.75), [-0.03515625, 0.26171875, 0.87890625, -0.10546875]);
  for (const t of [0, 0.1, 0.5, 0.9]) assert.ok(Math.abs(cubicWeights(t).reduce((a, b) => a + b) - 1) < 1e-12);
  // [0, 1, 0] → 6 (factor 2): output 2 has src = 0.75, taps −1..2 → clamped [0,0,1,0]
  const out = interpolateBicubic(tensor([1, 3], new Float32Array([0, 1, 0])), 1, 6);
  assert.ok(Math.abs(out.data[2]! - 0.87890625) < 1e-7);
  assert.ok(out.data[0]! < 0, 'bicubic overshoots (not convex)');
});

test('bicubic preserves constants exactly, for up- and non-integer factors (§13.15)', () => {
  const x = tensor([1, 4, 32, 32], new Float32Array(4 * 32 * 32).fill(0.37));
  for (const [h, w] of [[64, 64], [48, 48], [96, 64], [20, 40]] as const) {
    const y = interpolateBicubic(x, h, w);
    assert.deepEqual(y.shape, [1, 4, h, w]);
    for (const v of y.data) assert.ok(Math.abs(v - 0.37) < 1e-6);
  }
});

test('nearest upsampling by an integer factor is block replication; on-count scales by s²', () => {
  const m = new Uint8Array([1, 0, 0, 1, 1, 0]); // 2×3
  const up = resizeNearestPlane(m, 2, 3, 4, 6);
  assert.deepEqual(Array.from(up.subarray(0, 6)), [1, 1, 0, 0, 0, 0]);
  assert.deepEqual(Array.from(up.subarray(18, 24)), [1, 1, 1, 1, 0, 0]);
  assert.equal(up.reduce((a, b) => a + b, 0), 3 * 4);
  const t = interpolateNearest(tensor([1, 1, 2, 2], new Float32Array([1, 2, 3, 4])), 3, 3);
  assert.deepEqual(Array.from(t.data), [1, 1, 2, 1, 1, 2, 3, 3, 4]); // floor(dst·2/3)
});

test('pad2d / crop2d round-trip; padding value placement', () => {
  const x = tensor([1, 2, 2, 3], Float32Array.from({ length: 12 }, (_, i) => i + 1));
  const p = pad2d(x, { top: 1, bottom: 2, left: 3, right: 0 });
  assert.deepEqual(p.shape, [1, 2, 5, 6]);
  assert.equal(p.data[6 + 3], 1);
  assert.equal(p.data[0], 0);
  assert.deepEqual(crop2d(p, 1, 3, 2, 3).data, x.data);
});

test('mean, unbiased std, restandardize', () => {
  const d = new Float32Array([1, 2, 3, 4]);
  assert.equal(mean(d), 2.5);
  assert.ok(Math.abs(std(d) - Math.sqrt(5 / 3)) < 1e-12);
  const r = restandardize(tensor([4], d), -1, 2);
  assert.ok(Math.abs(mean(r) + 1) < 1e-6 && Math.abs(std(r) - 2) < 1e-6);
});

test('morphology: OpenCV borders, opening ⊆ B, idempotent (§13.3)', () => {
  const h = 6, w = 6;
  const full = new Uint8Array(h * w).fill(1);
  assert.deepEqual(erode(full, h, w, 2), full); // the outside never erodes
  const dot = new Uint8Array(h * w);
  dot[0] = 1;
  assert.equal(dilate(dot, h, w).reduce((a, b) => a + b, 0), 4); // corner: nothing grows from outside
  const b = new Uint8Array(h * w);
  for (let y = 0; y < 4; y++) for (let x = 0; x < 3; x++) b[y * w + x] = 1; // 4×3 block at the border
  b[5 * w + 5] = 1; // isolated pixel
  const o = opening(b, h, w, 1);
  for (let i = 0; i < o.length; i++) assert.ok(o[i]! <= b[i]!);
  assert.equal(o[5 * w + 5], 0);
  assert.equal(o[0], 1);
  assert.deepEqual(opening(o, h, w, 1), o);
  // 2 iterations of 3×3 = one 5×5 opening: a 4×4 interior block disappears, a 5×5 one stays.
  const big = new Uint8Array(12 * 12);
  for (let y = 1; y < 6; y++) for (let x = 1; x < 6; x++) big[y * 12 + x] = 1;
  for (let y = 7; y < 11; y++) for (let x = 7; x < 11; x++) big[y * 12 + x] = 1;
  const ob = opening(big, 12, 12, 2);
  assert.equal(ob.reduce((a, v) => a + v, 0), 25);
});
