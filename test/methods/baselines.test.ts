/**
 * Attn-SF and ScaleCrafter baselines (issue 6): ScaleCrafter's settings resolve to the authors' published
 * layer lists (SD 1.5 2x/4x, SD 2.1 4x, SDXL 4x) and to the fallback rule elsewhere (the D − j ladder, ND-CFG
 * for exactly the dilated steps); at every step of every plan the damped model is no more dilated than
 * the main one; the progressive ramp and the noise-damped guidance formula; at the native size both methods give exactly the latents of direct
 * inference on both fixture models; at 2x they run, differ from direct, and count their UNet rows.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UNet2DConditionModel } from '../../src/models/unet-2d-condition.js';
import { parseUNet2DConditionConfig } from '../../src/models/unet-config.js';
import { generate } from '../../src/pipeline/generate.js';
import { Components } from '../../src/loading/components.js';
import { classifierFreeGuidance } from '../../src/sampling/guidance.js';
import type { GenerateOptions } from '../../src/options/index.js';
import { dampedDilationFeed, dilationFeed, noiseDampedGuidance, usesNoiseDampedGuidance } from '../../src/methods/scalecrafter.js';
import { dilationAt, reDilationPlan, type ReDilationPlan } from '../../src/methods/scalecrafter-settings.js';
import { maxAbsDiff, tensor } from '../../src/tensor/tensor.js';
import { tinySd, tinySdxl } from '../helpers/paths.js';

const tinyConfig = JSON.parse(readFileSync(join(tinySd, 'unet', 'config.json'), 'utf8')) as Record<string, unknown>;
const modelOf = (over: Record<string, unknown>): UNet2DConditionModel => new UNet2DConditionModel(parseUNet2DConditionConfig({ ...tinyConfig, ...over }, 'test'));

const SD15 = {
  block_out_channels: [320, 640, 1280, 1280], cross_attention_dim: 768, attention_head_dim: 8, sample_size: 64,
  down_block_types: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
  up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
};
const SDXL = {
  block_out_channels: [320, 640, 1280], cross_attention_dim: 2048, attention_head_dim: [5, 10, 20], sample_size: 128,
  down_block_types: ['DownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D'],
  up_block_types: ['CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'UpBlock2D'],
  transformer_layers_per_block: [1, 2, 10], use_linear_projection: true, addition_embed_type: 'text_time',
  addition_time_embed_dim: 256, projection_class_embeddings_input_dim: 2816,
};

const SD2 = { ...SD15, cross_attention_dim: 1024, attention_head_dim: [5, 10, 20, 20], use_linear_projection: true };
/** SDXL's layout with another text width: no preset, so the fallback (as for models/shapes-xl). */
const XL_OTHER = { ...SDXL, cross_attention_dim: 1024 };

const sorted = (m: ReadonlyMap<string, number>): string[] => [...m].map(([p, d]) => `${p}:${d}`).sort();
/** `${block}.resnets.r.conv{1,2}:d` for r < n. */
const res = (b: string, n: number, d: number): string[] => Array.from({ length: n }, (_, r) => [`${b}.resnets.${r}.conv1:${d}`, `${b}.resnets.${r}.conv2:${d}`]).flat();
const ds = (i: number, d: number): string => `down_blocks.${i}.downsamplers.0.conv:${d}`;
const us = (i: number, d: number): string => `up_blocks.${i}.upsamplers.0.conv:${d}`;

test('ScaleCrafter settings: published SD 1.5 2x and SDXL 4x lists, fallback, native size', () => {
  // assets/dilate_settings/sd1.5_1024x1024.txt, dilate_tau 30 of 50
  const sd = reDilationPlan(modelOf(SD15), 128, 128, 64, 50);
  const sd2x = [
    ...[0, 1].flatMap((r) => [`down_blocks.3.resnets.${r}.conv1`, `down_blocks.3.resnets.${r}.conv2`]),
    ...[0, 1, 2].flatMap((r) => [`up_blocks.0.resnets.${r}.conv1`, `up_blocks.0.resnets.${r}.conv2`]),
    'up_blocks.0.upsamplers.0.conv',
    ...[0, 1].flatMap((r) => [`mid_block.resnets.${r}.conv1`, `mid_block.resnets.${r}.conv2`]),
  ].map((p) => `${p}:2`).sort();
  assert.equal(sd.source, 'sd1.5_1024x1024');
  assert.deepEqual(sorted(sd.dilations), sd2x);
  assert.equal(sd.dilateSteps, 30);
  assert.equal(sd.ndcfgSteps, 0);
  assert.equal(reDilationPlan(modelOf(SD15), 128, 128, 64, 20).dilateSteps, 12);
  // sdxl_4096x4096: the layers SDXL has (no fourth level, no downsampler on the last level)
  const xl = reDilationPlan(modelOf(SDXL), 512, 512, 128, 50);
  assert.equal(xl.source, 'sdxl_4096x4096');
  assert.deepEqual(sorted(xl.dilations), [
    ...res('down_blocks.2', 2, 4), ...res('mid_block', 2, 4),
    ...res('up_blocks.0', 3, 4), 'up_blocks.0.upsamplers.0.conv:4', ...res('up_blocks.1', 3, 3), 'up_blocks.1.upsamplers.0.conv:3', ...res('up_blocks.2', 3, 2),
  ].sort());
  assert.deepEqual(sorted(xl.ndcfgDilations), [...res('mid_block', 2, 4), ...res('up_blocks.0', 3, 4), 'up_blocks.0.upsamplers.0.conv:4'].sort());
  assert.equal(xl.ndcfgSteps, 35);
  assert.ok(xl.progressive);
  // fallback on tiny-sd (2 levels) at 2x: the deepest level, the mid block and the first up block
  const tiny = modelOf({});
  const fb = reDilationPlan(tiny, 64, 64, 32, 2);
  assert.equal(fb.source, 'fallback');
  assert.deepEqual(sorted(fb.dilations), [...res('down_blocks.1', 2, 2), ...res('mid_block', 2, 2), ...res('up_blocks.0', 3, 2), 'up_blocks.0.upsamplers.0.conv:2'].sort());
  assert.equal(fb.dilateSteps, 1);
  // 4x on 2 levels: 4 on the deepest, 3 on level 0; ND-CFG's damped model the deepest level only, for
  // the same 35 of 50 steps
  const fb4 = reDilationPlan(tiny, 128, 128, 32, 50);
  const deep4 = [...res('down_blocks.1', 2, 4), ...res('mid_block', 2, 4), ...res('up_blocks.0', 3, 4), us(0, 4)];
  assert.deepEqual(sorted(fb4.dilations), [...deep4, ...res('down_blocks.0', 2, 3), ds(0, 3), ...res('up_blocks.1', 3, 3)].sort());
  assert.deepEqual(sorted(fb4.ndcfgDilations), deep4.sort());
  assert.deepEqual([fb4.dilateSteps, fb4.ndcfgSteps, fb4.progressive], [35, 35, true]);
  // non-square 2x/1x: fallback with ⌈2⌉; at the native size nothing is dilated
  assert.equal(reDilationPlan(tiny, 64, 32, 32, 2).dilations.size, fb.dilations.size);
  const none = reDilationPlan(tiny, 32, 32, 32, 50);
  assert.equal(none.dilations.size + none.ndcfgDilations.size + none.dilateSteps + none.ndcfgSteps, 0);
});

test('ScaleCrafter settings: SD 1.5 4x and SD 2.1 2x/4x presets; SDXL-layout fallback at 2x/4x', () => {
  // assets/dilate_settings/sd1.5_2048x2048.txt and the _test ND-CFG list, 35/35 of 50, progressive
  const sd4 = reDilationPlan(modelOf(SD15), 256, 256, 64, 50);
  assert.equal(sd4.source, 'sd1.5_2048x2048');
  assert.deepEqual(sorted(sd4.dilations), [
    ...res('down_blocks.0', 2, 2), ds(0, 2), ...res('down_blocks.1', 2, 3), ds(1, 3), ...res('down_blocks.2', 2, 4), ds(2, 4), ...res('down_blocks.3', 2, 4),
    ...res('mid_block', 2, 4),
    ...res('up_blocks.0', 3, 4), us(0, 4), ...res('up_blocks.1', 3, 4), us(1, 4), ...res('up_blocks.2', 3, 3), us(2, 3), ...res('up_blocks.3', 3, 2),
  ].sort());
  assert.deepEqual(sorted(sd4.ndcfgDilations), [
    ...res('down_blocks.2', 2, 4), ds(2, 4), ...res('down_blocks.3', 2, 4), ...res('mid_block', 2, 4), ...res('up_blocks.0', 3, 4), us(0, 4), ...res('up_blocks.1', 3, 4), us(1, 4),
  ].sort());
  assert.deepEqual([sd4.dilateSteps, sd4.ndcfgSteps, sd4.progressive], [35, 35, true]);
  // sd2.1: 2x is the SD 1.5 2x pattern for 20 steps; 4x is assets/dilate_settings/sd2.1_2048x2048.txt, 37/37
  const sd21 = reDilationPlan(modelOf(SD2), 128, 128, 64, 50);
  assert.equal(sd21.source, 'sd2.1_1024x1024');
  assert.deepEqual([sd21.dilateSteps, sd21.ndcfgSteps, sd21.dilations.size], [20, 0, 15]);
  const sd24 = reDilationPlan(modelOf(SD2), 256, 256, 64, 50);
  assert.equal(sd24.source, 'sd2.1_2048x2048');
  const sd24Main = [
    ...res('down_blocks.2', 2, 3), ds(2, 4), ...res('down_blocks.3', 2, 4), ...res('mid_block', 2, 4),
    ...res('up_blocks.0', 3, 4), us(0, 4), ...res('up_blocks.1', 3, 4), us(1, 4), ...res('up_blocks.2', 3, 3), us(2, 3), ...res('up_blocks.3', 3, 2),
  ];
  assert.deepEqual(sorted(sd24.dilations), sd24Main.sort());
  assert.deepEqual(sorted(sd24.ndcfgDilations), sd24Main.filter((p) => !p.startsWith('up_blocks.3.')).sort());
  assert.deepEqual([sd24.dilateSteps, sd24.ndcfgSteps, sd24.progressive], [37, 37, true]);
  // sdxl 2x: deepest level, mid, first up block, 30 of 50
  const xl2 = reDilationPlan(modelOf(SDXL), 256, 256, 128, 50);
  assert.equal(xl2.source, 'sdxl_2048x2048');
  assert.deepEqual(sorted(xl2.dilations), [...res('down_blocks.2', 2, 2), ...res('mid_block', 2, 2), ...res('up_blocks.0', 3, 2), us(0, 2)].sort());
  // SDXL layout without a preset at 4x: the SDXL 4x ladder 4/3/2 on both paths, ND-CFG's damped model =
  // deepest level + mid, both for round(0.7·25) = 18 of 25 steps
  const fb = reDilationPlan(modelOf(XL_OTHER), 128, 128, 32, 25);
  assert.equal(fb.source, 'fallback');
  assert.deepEqual(sorted(fb.dilations), [
    ...res('down_blocks.0', 2, 2), ds(0, 2), ...res('down_blocks.1', 2, 3), ds(1, 3), ...res('down_blocks.2', 2, 4), ...res('mid_block', 2, 4),
    ...res('up_blocks.0', 3, 4), us(0, 4), ...res('up_blocks.1', 3, 3), us(1, 3), ...res('up_blocks.2', 3, 2),
  ].sort());
  assert.deepEqual(sorted(fb.ndcfgDilations), [...res('down_blocks.2', 2, 4), ...res('mid_block', 2, 4), ...res('up_blocks.0', 3, 4), us(0, 4)].sort());
  assert.deepEqual([fb.dilateSteps, fb.ndcfgSteps, fb.progressive], [18, 18, true]);
  // same layout at 2x: the 2x presets' pattern, no ND-CFG
  const fb2 = reDilationPlan(modelOf(XL_OTHER), 64, 64, 32, 25);
  assert.deepEqual(sorted(fb2.dilations), sorted(xl2.dilations));
  assert.deepEqual([fb2.dilateSteps, fb2.ndcfgSteps, fb2.progressive], [15, 0, false]);
});

test('every plan: ND-CFG only while dilated, damped model never more dilated than the main one', () => {
  const cases: Array<[string, ReDilationPlan]> = [];
  for (const [name, cfg, native] of [['sd15', SD15, 64], ['sd2', SD2, 64], ['sdxl', SDXL, 128], ['xl-other', XL_OTHER, 32], ['tiny', {}, 32]] as const) {
    const m = modelOf(cfg);
    for (const f of [2, 3, 4]) for (const steps of [7, 25, 50]) cases.push([`${name} ${f}x ${steps}`, reDilationPlan(m, f * native, f * native, native, steps)]);
    cases.push([`${name} 4x2`, reDilationPlan(m, 4 * native, 2 * native, native, 25)]);
  }
  assert.equal(cases.filter(([, p]) => p.source === 'fallback').length, 2 * 10 + 3 * 4); // xl-other, tiny; the others at 3x and 4x2
  for (const [name, plan] of cases) {
    assert.ok(plan.ndcfgSteps <= plan.dilateSteps, name);
    for (const [p, d] of plan.ndcfgDilations) assert.ok(d <= (plan.dilations.get(p) ?? 1), `${name}: ${p} damped ${d}, main ${plan.dilations.get(p)}`);
    const paths = [...plan.dilations.keys()].sort();
    for (let i = 0; i < 50; i++) {
      const main = dilationFeed(paths, plan.dilations, i, plan.dilateSteps, plan.progressive).data as BigInt64Array;
      const damped = dampedDilationFeed(paths, plan, i).data as BigInt64Array;
      paths.forEach((p, k) => {
        assert.ok(damped[k]! <= main[k]!, `${name} step ${i} ${p}: damped ${damped[k]} > main ${main[k]}`);
        // a conv the ND-CFG list leaves out is undilated in the damped model (not lifted to the ramp's 2)
        if (!plan.ndcfgDilations.has(p)) assert.equal(damped[k], 1n, `${name} step ${i} ${p}`);
      });
      if (usesNoiseDampedGuidance(plan, i)) assert.ok(main.some((d) => d > 1n), `${name} step ${i}: ND-CFG with an undilated main model`);
    }
  }
  // a hand-made plan whose ND-CFG outlasts its dilation (the old fallback's 35 vs 30 of 50) is cut at dilate_tau
  const old: ReDilationPlan = {
    source: 'test', dilations: new Map([['a', 4], ['b', 2]]), dilateSteps: 15,
    ndcfgDilations: new Map([['a', 4]]), ndcfgSteps: 18, progressive: true,
  };
  assert.deepEqual([14, 15, 17].map((i) => usesNoiseDampedGuidance(old, i)), [true, false, false]);
  // step 4: main ramp ⌈4·11/15⌉ = 3, the damped ramp alone would give ⌈4·14/18⌉ = 4
  assert.deepEqual(Array.from(dampedDilationFeed(['a', 'b'], old, 4).data as BigInt64Array), [3n, 1n]);
});

test('progressive ramp and noise-damped guidance', () => {
  // reference: max(ceil(d·(tau − i)/tau), 2) while i < tau
  assert.deepEqual([0, 8, 9, 17, 18, 34, 35].map((i) => dilationAt(4, i, 35, true)), [4, 4, 3, 3, 2, 2, 1]);
  assert.deepEqual([0, 29, 30].map((i) => dilationAt(2, i, 30, false)), [2, 2, 1]);
  // an unlisted conv (d = 1) is not lifted to the ramp's floor of 2
  assert.deepEqual([0, 20, 34, 35].map((i) => dilationAt(1, i, 35, true)), [1, 1, 1, 1]);
  const raw = tensor([2, 3], Float32Array.of(1, 2, 3, 4, 6, 8)); // [uncond, cond] of the dilated call
  const vanilla = tensor([1, 3], Float32Array.of(0.5, -1, 2));
  const nd = noiseDampedGuidance(raw, vanilla, 7.5, 0);
  assert.deepEqual(Array.from(nd.data), [0.5 + 7.5 * 3, -1 + 7.5 * 4, 2 + 7.5 * 5]);
  // with the dilated uncond as the vanilla one it is ordinary CFG, rescale included
  const same = tensor([1, 3], Float32Array.of(1, 2, 3));
  assert.ok(maxAbsDiff(noiseDampedGuidance(raw, same, 5, 0.7), classifierFreeGuidance(raw, 5, 0.7)) < 1e-6);
});

for (const [name, dir, native] of [['tiny-sd', tinySd, 64], ['tiny-sdxl', tinySdxl, 256]] as const) {
  test(`${name}: at the native size attn-sf and scalecrafter equal direct exactly; at 2x they differ`, async (t) => {
    const components = await Components.load(dir, { threads: 1 });
    try {
      const base: GenerateOptions = { prompt: 'a corgi on the lawn', width: native, height: native, steps: 2, seed: 3 };
      const direct = await generate(components, { ...base, method: 'direct' });
      for (const method of ['attn-sf', 'scalecrafter'] as const) {
        const r = await generate(components, { ...base, method });
        assert.equal(maxAbsDiff(r.stages[0]!.latents, direct.stages[0]!.latents), 0, method);
        assert.equal(r.report.unetCalls, direct.report.unetCalls);
      }
      if (name !== 'tiny-sd') return; // 2x numerics once (the CLI test covers tiny-sdxl at 2x)
      const big = { ...base, width: 2 * native, height: 2 * native };
      const direct2 = await generate(components, { ...big, method: 'direct' });
      for (const method of ['attn-sf', 'scalecrafter'] as const) {
        const r = await generate(components, { ...big, method });
        const d = maxAbsDiff(r.stages[0]!.latents, direct2.stages[0]!.latents);
        t.diagnostic(`${method} 2x vs direct: max abs latent diff ${d.toExponential(2)}, ${r.report.unetCalls} UNet rows`);
        assert.deepEqual(r.stages[0]!.latents.shape, [1, 4, 64, 64]);
        assert.ok(d > 1e-4, `${method} should change the result`);
        assert.equal(r.report.unetCalls, 4); // 2 steps × CFG pair (no ND-CFG at 2x)
      }
      // 4x: the fallback adds ND-CFG for its round(0.7·2) = 1 dilated step, one extra CFG pair
      const r4 = await generate(components, { ...base, width: 4 * native, height: 4 * native, method: 'scalecrafter' });
      assert.equal(r4.report.unetCalls, 6);
      assert.equal(r4.image.width, 4 * native);
    } finally {
      await components.dispose();
    }
  });
}
