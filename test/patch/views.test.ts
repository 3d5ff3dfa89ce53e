// View geometry: DemoFusion get_views counts, jitter bounds/order, coverage (spec §4.1, §13.7).
import test from 'node:test';
import assert from 'node:assert/strict';
import { getViews, mdViews, numBlocks, type View } from '../../src/patch/views.js';

function coverage(views: View[], h: number, w: number, pad: number): Int32Array {
  const c = new Int32Array(h * w);
  for (const v of views) {
    for (let y = v.hStart; y < v.hEnd; y++) {
      for (let x = v.wStart; x < v.wEnd; x++) {
        const yy = y - pad, xx = x - pad;
        if (yy >= 0 && yy < h && xx >= 0 && xx < w) c[yy * w + xx]! += 1;
      }
    }
  }
  return c;
}

test('view counts: (2s−1)² for square stages with window B, stride B/2', () => {
  for (const base of [32, 64, 96, 128]) {
    for (const s of [1, 2, 3, 4, 5]) {
      const { views } = getViews({ height: base * s, width: base * s, window: base, stride: base / 2 });
      assert.equal(views.length, (2 * s - 1) ** 2);
    }
  }
  assert.equal(numBlocks(200, 128, 64), 3); // 0, 64, shifted back to 72
  const { views } = getViews({ height: 128, width: 200, window: 128, stride: 64 });
  assert.deepEqual(views.map((v) => [v.wStart, v.wEnd]), [[0, 128], [64, 192], [72, 200]]);
});

test('jitter: order (width then height per view), bounds, padded frame, coverage ≥ 1 (§13.7)', () => {
  const H = 384, W = 256, win = 128, stride = 64, jr = 16;
  const calls: [number, number][] = [];
  let k = 0;
  const randint = (lo: number, hi: number): number => {
    calls.push([lo, hi]);
    return [lo, hi, 0][k++ % 3]!; // extremes are the hard case for coverage
  };
  const set = getViews({ height: H, width: W, window: win, stride, randint });
  assert.equal(set.jitterHeight, jr);
  assert.equal(set.views.length, 5 * 3);
  // First view (row 0, col 0): width at start edge → [−jr, 0], then height at start edge → [−jr, 0].
  assert.deepEqual(calls.slice(0, 2), [[-jr, 0], [-jr, 0]]);
  // Second view (row 0, col 1) is interior in width: [−jr, jr] first, then [−jr, 0] for height.
  assert.deepEqual(calls.slice(2, 4), [[-jr, jr], [-jr, 0]]);
  for (const v of set.views) {
    assert.equal(v.hEnd - v.hStart, win);
    assert.equal(v.wEnd - v.wStart, win);
    assert.ok(v.hStart >= 0 && v.hEnd <= H + 2 * jr && v.wStart >= 0 && v.wEnd <= W + 2 * jr);
  }
  assert.ok(coverage(set.views, H, W, jr).every((c) => c >= 1));
});

test('randomised jitter keeps full coverage for many draws and sizes', () => {
  let seed = 1;
  const randint = (lo: number, hi: number): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return lo + (seed % (hi - lo + 1));
  };
  for (const [H, W] of [[256, 256], [384, 384], [512, 256], [320, 200]] as const) {
    for (let rep = 0; rep < 5; rep++) {
      const set = getViews({ height: H, width: W, window: 128, stride: 64, randint });
      assert.ok(coverage(set.views, H, W, 16).every((c) => c >= 1), `${H}x${W}`);
    }
  }
});

test('a whole-axis view draws nothing; a window larger than the extent is clamped', () => {
  const calls: number[][] = [];
  const set = getViews({ height: 128, width: 128, window: 128, stride: 64, randint: (a, b) => (calls.push([a, b]), 0) });
  assert.equal(calls.length, 0);
  assert.deepEqual(set.views, [{ hStart: 16, hEnd: 144, wStart: 16, wEnd: 144 }]);
  const small = getViews({ height: 64, width: 256, window: 128, stride: 64 });
  assert.ok(small.views.every((v) => v.hStart === 0 && v.hEnd === 64));
});

test('md views: multiples of 4 in latent cells, padding 4·jr, SD1.5/SD2/SDXL/tiny bases', () => {
  for (const base of [32, 64, 96, 128]) {
    const plan = mdViews({ latentHeight: base * 3, latentWidth: base * 2, baseLatent: base, randint: (lo) => lo });
    assert.equal(plan.cell, 4);
    assert.equal(plan.jitter, Math.floor(base / 4 / 2 / 4));
    assert.equal(plan.latentJitter, Math.floor((base - base / 2) / 4)); // = the patch branch's latent padding
    assert.equal(plan.views.length, 5 * 3);
    for (const v of plan.latentViews) {
      for (const c of [v.hStart, v.hEnd, v.wStart, v.wEnd]) assert.equal(c % 4, 0);
      assert.equal(v.hEnd - v.hStart, base);
    }
  }
  // Latent not a multiple of 4 → latent-cell grid.
  const odd = mdViews({ latentHeight: 125, latentWidth: 125, baseLatent: 64 });
  assert.equal(odd.cell, 1);
  assert.equal(odd.window, 64);
});
