// Stage bookkeeping: reference sizes for multiples of the native size, generalisation otherwise (§1.3, §13.14).
import test from 'node:test';
import assert from 'node:assert/strict';
import { planStages } from '../../src/patch/stages.js';

const lat = (p: ReturnType<typeof planStages>) => [
  [p.phase1.latentHeight, p.phase1.latentWidth],
  ...p.stages.map((s) => [s.scale, s.latentHeight, s.latentWidth]),
];

test('square SDXL targets: phase 1 = 128², stages 2..S at 128s (reference)', () => {
  assert.deepEqual(lat(planStages({ height: 2048, width: 2048, baseLatent: 128 })), [[128, 128], [2, 256, 256]]);
  assert.deepEqual(lat(planStages({ height: 4096, width: 4096, baseLatent: 128 })), [[128, 128], [2, 256, 256], [3, 384, 384], [4, 512, 512]]);
  assert.deepEqual(lat(planStages({ height: 4096, width: 4096, baseLatent: 128, progressive: false })), [[128, 128], [4, 512, 512]]);
  // Tiny-sdxl fixture runs: 512 px → stage 2 (64), 1024 px → 64, 96, 128.
  assert.deepEqual(lat(planStages({ height: 512, width: 512, baseLatent: 32 })), [[32, 32], [2, 64, 64]]);
  assert.deepEqual(lat(planStages({ height: 1024, width: 1024, baseLatent: 32 })), [[32, 32], [2, 64, 64], [3, 96, 96], [4, 128, 128]]);
  const p = planStages({ height: 3072, width: 3072, baseLatent: 128 });
  assert.equal(p.scaleNum, 3);
  assert.equal(p.stages.at(-1)!.height, 3072);
});

test('non-square multiples follow the reference (H//S phase 1, floor(B·s·ar) stages)', () => {
  // 4096×3072 (portrait): phase 1 1024×768, stage s: (1024s, 768s) px.
  assert.deepEqual(lat(planStages({ height: 4096, width: 3072, baseLatent: 128 })), [[128, 96], [2, 256, 192], [3, 384, 288], [4, 512, 384]]);
  assert.deepEqual(lat(planStages({ height: 2048, width: 4096, baseLatent: 128 })), [[64, 128], [2, 128, 256], [3, 192, 384], [4, 256, 512]]);
});

test('generalised targets: last stage is exactly the target, aspect kept, phase 1 within the native size', () => {
  for (const [h, w, base] of [[1536, 1536, 128], [2560, 1600, 128], [1000, 1504, 64], [768, 1280, 96], [3000, 2000, 128]] as const) {
    const p = planStages({ height: h, width: w, baseLatent: base });
    const last = p.stages.at(-1)!;
    assert.deepEqual([last.height, last.width], [h, w]);
    assert.equal(Math.max(p.phase1.latentHeight, p.phase1.latentWidth), base);
    assert.ok(p.phase1.latentHeight * p.phase1.latentWidth <= base * base);
    assert.equal((p.phase1.latentHeight > p.phase1.latentWidth), h > w);
    assert.equal(p.scaleNum, Math.ceil(Math.max(h, w) / 8 / base));
    p.stages.forEach((s, i) => {
      assert.equal(s.scale, i + 2);
      if (i < p.stages.length - 1) {
        assert.equal(Math.max(s.latentHeight, s.latentWidth), base * s.scale);
      }
    });
  }
  // Not larger than native: phase 1 is the target, no stages.
  assert.deepEqual(lat(planStages({ height: 512, width: 768, baseLatent: 128 })), [[64, 96]]);
  assert.throws(() => planStages({ height: 1001, width: 1024, baseLatent: 128 }), /multiple of 8/);
});

test('every stage keeps the target aspect ratio within half a latent cell, over many sizes (issue 11.5)', () => {
  // the reported instances (tiny-sdxl: native latent 32, VAE factor 8)
  assert.deepEqual(lat(planStages({ height: 416, width: 608, baseLatent: 32 })), [[22, 32], [2, 44, 64], [3, 52, 76]]);
  assert.deepEqual(lat(planStages({ height: 128, width: 1024, baseLatent: 32 })), [[4, 32], [2, 8, 64], [3, 12, 96], [4, 16, 128]]);
  // SDXL 2432x1664 and SD 1.5 1536x1024 drifted 9.5% and 6.7% taller; now within half a cell at every stage
  assert.deepEqual(lat(planStages({ height: 1664, width: 2432, baseLatent: 128 })), [[88, 128], [2, 175, 256], [3, 208, 304]]);
  assert.deepEqual(lat(planStages({ height: 1024, width: 1536, baseLatent: 64 })), [[43, 64], [2, 85, 128], [3, 128, 192]]);
  let checked = 0;
  for (const base of [32, 64, 96, 128]) {
    for (let h = 8; h <= 40 * base; h += 8 * 7) {
      for (let w = 8; w <= 40 * base; w += 8 * 13) {
        const p = planStages({ height: h, width: w, baseLatent: base });
        const [ht, wt] = [h / 8, w / 8];
        const ratio = Math.min(ht, wt) / Math.max(ht, wt);
        let prev = [0, 0];
        for (const s of [p.phase1, ...p.stages]) {
          const long = Math.max(s.latentHeight, s.latentWidth);
          const short = Math.min(s.latentHeight, s.latentWidth);
          const what = `${h}x${w} base ${base} stage ${s.scale}: ${s.latentHeight}x${s.latentWidth}`;
          // within half a latent cell of the target's ratio (the 1-cell floor aside) and never past the target
          assert.ok(Math.abs(short - long * ratio) <= 0.5 + 1e-9 || short === 1, what);
          assert.ok(s.latentHeight <= ht && s.latentWidth <= wt || s.scale === 1, what);
          if (ht !== wt) assert.ok(ht > wt ? s.latentHeight >= s.latentWidth : s.latentHeight <= s.latentWidth, what);
          assert.ok(s.latentHeight >= prev[0]! && s.latentWidth >= prev[1]!, what);
          prev = [s.latentHeight, s.latentWidth];
          checked++;
        }
      }
    }
  }
  assert.ok(checked > 10000, `${checked} stages`);
});
