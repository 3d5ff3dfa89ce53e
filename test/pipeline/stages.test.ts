// Stage bookkeeping: reference sizes for multiples of the native size, generalisation otherwise (§1.3, §13.14).
import test from 'node:test';
import assert from 'node:assert/strict';
import { planStages } from '../../src/pipeline/stages.js';

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
    assert.equal(p.phase1.latentHeight % 8, 0);
    assert.equal(p.phase1.latentWidth % 8, 0);
    assert.equal((p.phase1.latentHeight > p.phase1.latentWidth), h > w);
    const arT = Math.min(h, w) / Math.max(h, w);
    const ar1 = Math.min(p.phase1.latentHeight, p.phase1.latentWidth) / base;
    assert.ok(Math.abs(ar1 - arT) <= 8 / base, `${h}x${w}: phase-1 ratio ${ar1} vs ${arT}`);
    assert.equal(p.scaleNum, Math.ceil(Math.max(h, w) / 8 / base));
    p.stages.forEach((s, i) => {
      assert.equal(s.scale, i + 2);
      if (i < p.stages.length - 1) {
        assert.equal(Math.max(s.latentHeight, s.latentWidth), base * s.scale);
        assert.equal(Math.min(s.latentHeight, s.latentWidth) % (8 * s.scale), 0);
      }
    });
  }
  // Not larger than native: phase 1 is the target, no stages.
  assert.deepEqual(lat(planStages({ height: 512, width: 768, baseLatent: 128 })), [[64, 96]]);
  assert.throws(() => planStages({ height: 1001, width: 1024, baseLatent: 128 }), /multiple of 8/);
});
