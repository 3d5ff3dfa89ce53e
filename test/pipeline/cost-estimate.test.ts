/**
 * The cost estimate counts exactly the UNet rows a run reports (report.unetCalls, per stage too): every method on
 * the tiny SDXL fixture, square and non-square, and the switches that change the count (no CFG, no patch prompts
 * with another stride, a third stage, ScaleCrafter's noise-damped CFG), plus the hand-computed counts of the published rule on SDXL sizes.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { Components } from '../../src/loading/components.js';
import { generate } from '../../src/pipeline/generate.js';
import { countUNetWork, estimateRunCost } from '../../src/pipeline/cost-estimate.js';
import { getViews, mdViewCount, mdViews, viewCount } from '../../src/patch/views.js';
import { METHODS, type GenerateOptions } from '../../src/options/index.js';
import { stageWeights } from '../../src/server/job.js';
import { tinySd, tinySdxl } from '../helpers/paths.js';

const base = { prompt: 'a red circle and a blue square', steps: 2, seed: 7 } as const;

async function check(c: Components, options: GenerateOptions, label: string): Promise<void> {
  const estimate = estimateRunCost(c, options);
  const { report } = await generate(c, options);
  assert.equal(estimate.unetCalls, report.unetCalls, `${label}: total`);
  assert.deepEqual(estimate.stages.map((s) => [s.stage, s.width, s.height, s.unetCalls]), report.stages.map((s) => [s.stage, s.width, s.height, s.unetCalls]), `${label}: stages`);
}

test('estimateRunCost equals the measured unetCalls of every method (tiny-sdxl, square and wide)', async () => {
  const c = await Components.load(tinySdxl, { threads: 1 });
  try {
    for (const method of METHODS) {
      for (const [width, height] of [[512, 512], [384, 256]] as const) await check(c, { ...base, method, width, height }, `${method} ${width}x${height}`);
    }
    await check(c, { ...base, method: 'accdiffusion', width: 768, height: 768, guidance: 1 }, 'accdiffusion 3x, no CFG');
    await check(c, { ...base, method: 'accdiffusion', width: 768, height: 512, patchPrompts: false, stride: 8 }, 'accdiffusion, no patch prompts, stride 8');
    await check(c, { ...base, method: 'multidiffusion', width: 640, height: 384, stride: 8 }, 'multidiffusion stride 8');
  } finally {
    await c.dispose();
  }
});

test('estimateRunCost counts ScaleCrafter\'s noise-damped CFG rows (tiny-sd 3x: 2 of 3 steps use it)', async () => {
  const c = await Components.load(tinySd, { threads: 1 });
  try {
    const options = { ...base, steps: 3, method: 'scalecrafter', width: 3 * c.folder.nativeSize, height: 3 * c.folder.nativeSize } as const;
    assert.equal(estimateRunCost(c, options).unetCalls, 3 * 2 + 2 * 2);
    await check(c, options, 'tiny-sd scalecrafter 3x');
  } finally {
    await c.dispose();
  }
});

test('countUNetWork: SDXL 4096² AccDiffusion-style stages and direct inference, by hand', () => {
  const sdxl = { nativeLatentSize: 128, vaeScaleFactor: 8, steps: 50, classifierFreeGuidance: true, stride: 64 } as const;
  // stage s (latent 128·s): windows ((128s − 128)/64 + 1)² = (2s − 1)², plus s² dilated samples, two rows each
  const demo = countUNetWork({ ...sdxl, method: 'demofusion', width: 4096, height: 4096 });
  assert.deepEqual(demo.stages.map((s) => s.windowsPerStep), [0, 9 + 4, 25 + 9, 49 + 16]);
  assert.equal(demo.unetCallsPerStep, 2 * (1 + 13 + 34 + 65));
  assert.equal(demo.unetCalls, 50 * demo.unetCallsPerStep);
  // md windows on the attention grid (cell 4): window 32, stride 16 over 32s cells → (2s − 1)² as well
  const acc = countUNetWork({ ...sdxl, method: 'accdiffusion', width: 4096, height: 4096, patchPromptCell: 4 });
  assert.equal(acc.unetCalls, demo.unetCalls);
  const direct = countUNetWork({ ...sdxl, method: 'direct', width: 4096, height: 4096 });
  assert.deepEqual([direct.stages.length, direct.unetCalls], [1, 100]);
  const md = countUNetWork({ ...sdxl, method: 'multidiffusion', width: 4096, height: 2048, classifierFreeGuidance: false });
  assert.equal(md.unetCalls, 50 * (7 * 3));
});

test('viewCount and mdViewCount equal the number of views getViews and mdViews build', () => {
  for (const [h, w] of [[32, 32], [64, 32], [48, 80], [100, 36], [256, 128], [20, 20]] as const) {
    for (const stride of [4, 8, 16, 32]) assert.equal(viewCount(h, w, 32, stride), getViews({ height: h, width: w, window: 32, stride }).views.length, `${h}x${w}/${stride}`);
    for (const cell of [4, 2]) assert.equal(mdViewCount(h, w, 32, cell), mdViews({ latentHeight: h, latentWidth: w, baseLatent: 32, attentionCell: cell }).views.length, `md ${h}x${w}/${cell}`);
  }
});

test('the page\'s stage weights come from the same count: defaults filled by resolveOptions, patch-prompt grid, stride', () => {
  const sdxl = { nativeLatentSize: 128, vaeScaleFactor: 8 };
  const base = { prompt: 'x', width: 2048, height: 2048 };
  // stage 1: 50 steps × 2 rows at the native size; stage 2: (3×3 grid windows + 2² dilated) × 50 × 2
  assert.deepEqual(stageWeights(base, sdxl), [100, 1300]);
  // without patch prompts, DemoFusion's windows at stride 32: 5×5 + 4
  assert.deepEqual(stageWeights({ ...base, patchPrompts: false, stride: 32 }, sdxl), [100, 2900]);
  assert.deepEqual(stageWeights({ ...base, method: 'direct' }, sdxl), [100 * 4]);
  assert.deepEqual(stageWeights({ ...base, width: 12 }, sdxl), [1], 'options the run refuses');
});
