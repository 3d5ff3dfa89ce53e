// Tile plans: weights sum to 1 everywhere, identity tiles reproduce the image, diffusers-style ramp (§7, §13.8, §13.17).
import test from 'node:test';
import assert from 'node:assert/strict';
import { planTiles, rectBlendWeights, tileStarts, TileAccumulator } from '../../src/decode/tiled-decode-plan.js';
import { tensor } from '../../src/tensor/tensor.js';
import { crop2d } from '../../src/tensor/ops.js';

test('tile starts: full-size tiles, last one shifted back to the extent', () => {
  assert.deepEqual(tileStarts(256, 128, 32), [0, 96, 128]);
  assert.deepEqual(tileStarts(128, 128, 32), [0]);
  assert.deepEqual(tileStarts(64, 128, 32), [0]);
  assert.deepEqual(tileStarts(320, 128, 64), [0, 64, 128, 192]);
});

test('weights sum to 1 at every output position; output size = scale × input (§13.17)', () => {
  for (const [h, w, tile, ov, scale, blend] of [
    [64, 96, 32, 8, 8, 'linear'], [50, 70, 32, 16, 1, 'linear'], [40, 40, 16, 12, 2, 'linear'], [64, 64, 32, 8, 1, 'uniform'],
  ] as const) {
    const plan = planTiles({ height: h, width: w, tileSize: tile, overlap: ov, scale, blend });
    assert.equal(plan.outHeight, h * scale);
    assert.equal(plan.outWidth, w * scale);
    for (const axis of [plan.rows, plan.cols]) {
      const ext = axis === plan.rows ? h * scale : w * scale;
      const sum = new Float64Array(ext);
      for (const t of axis) t.weights.forEach((v, p) => (sum[t.start * scale + p] += v));
      for (const s of sum) assert.ok(Math.abs(s - 1) < 1e-6, `${s}`);
    }
  }
});

test('linear blend is the diffusers cross-fade over an overlap of e positions', () => {
  const plan = planTiles({ height: 16, width: 24, tileSize: 16, overlap: 8, scale: 1 });
  const [a, b] = plan.cols;
  assert.equal(b!.start, 8);
  for (let y = 0; y < 8; y++) {
    assert.ok(Math.abs(b!.weights[y]! - (y + 0.5) / 8) < 1e-7);
    assert.ok(Math.abs(a!.weights[8 + y]! - (1 - (y + 0.5) / 8)) < 1e-7);
  }
  assert.equal(a!.weights[0], 1);
});

test('identity tiles reassemble the image exactly (within float rounding)', () => {
  const [N, C, H, W, scale] = [1, 3, 40, 56, 2];
  const img = tensor([N, C, H * scale, W * scale], Float32Array.from({ length: N * C * H * W * scale * scale }, (_, i) => Math.sin(i)));
  const plan = planTiles({ height: H, width: W, tileSize: 24, overlap: 8, scale });
  const acc = new TileAccumulator(plan, N, C);
  plan.tiles.forEach((t, i) => acc.addTile(i, crop2d(img, t.outTop, t.outLeft, t.outHeight, t.outWidth)));
  let m = 0;
  for (let i = 0; i < img.data.length; i++) m = Math.max(m, Math.abs(acc.output.data[i]! - img.data[i]!));
  assert.ok(m < 1e-5, `max diff ${m}`);
});

test('rect weights for jittered views: 1/count, sum to 1, uncovered cells rejected (§13.8)', () => {
  const rects = [
    { top: 0, left: 0, height: 6, width: 6 },
    { top: 2, left: 3, height: 6, width: 6 },
    { top: 4, left: 0, height: 6, width: 5 },
  ];
  assert.throws(() => rectBlendWeights(rects, 10, 10), /not covered/);
  const cover = [...rects, { top: 0, left: 5, height: 10, width: 5 }];
  const ws = rectBlendWeights(cover, 10, 10);
  const sum = new Float64Array(100);
  cover.forEach((r, k) => {
    for (let y = 0; y < r.height; y++) for (let x = 0; x < r.width; x++) sum[(r.top + y) * 10 + r.left + x] += ws[k]![y * r.width + x]!;
  });
  for (const s of sum) assert.ok(Math.abs(s - 1) < 1e-6);
});
