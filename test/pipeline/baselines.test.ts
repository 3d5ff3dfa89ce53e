/**
 * Attn-SF and ScaleCrafter baselines (issue 6): ScaleCrafter's settings resolve to the authors' published
 * layer lists (SD 1.5 2x, SDXL 4x) and to the fallback rule elsewhere; the progressive ramp and the
 * noise-damped guidance formula; at the native size both methods give exactly the latents of direct
 * inference on both fixture models; at 2x they run, differ from direct, and count their UNet rows.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UNet2DConditionModel } from '../../src/models/unet-2d-condition.js';
import { parseUNet2DConditionConfig } from '../../src/models/unet-config.js';
import { generate } from '../../src/pipeline/accdiffusion.js';
import { Components } from '../../src/pipeline/components.js';
import { classifierFreeGuidance } from '../../src/pipeline/guidance.js';
import type { GenerateOptions } from '../../src/pipeline/options.js';
import { noiseDampedGuidance } from '../../src/pipeline/scalecrafter.js';
import { dilationAt, reDilationPlan } from '../../src/pipeline/scalecrafter-settings.js';
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

const sorted = (m: ReadonlyMap<string, number>): string[] => [...m].map(([p, d]) => `${p}:${d}`).sort();

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
  const res = (b: string, n: number, d: number): string[] => Array.from({ length: n }, (_, r) => [`${b}.resnets.${r}.conv1:${d}`, `${b}.resnets.${r}.conv2:${d}`]).flat();
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
  // non-square 2x/1x: fallback with ⌈2⌉; at the native size nothing is dilated
  assert.equal(reDilationPlan(tiny, 64, 32, 32, 2).dilations.size, fb.dilations.size);
  const none = reDilationPlan(tiny, 32, 32, 32, 50);
  assert.equal(none.dilations.size + none.ndcfgDilations.size + none.dilateSteps + none.ndcfgSteps, 0);
});

test('progressive ramp and noise-damped guidance', () => {
  // reference: max(ceil(d·(tau − i)/tau), 2) while i < tau
  assert.deepEqual([0, 8, 9, 17, 18, 34, 35].map((i) => dilationAt(4, i, 35, true)), [4, 4, 3, 3, 2, 2, 1]);
  assert.deepEqual([0, 29, 30].map((i) => dilationAt(2, i, 30, false)), [2, 2, 1]);
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
      // 4x: the fallback adds ND-CFG for round(0.7·2) = 1 step, one extra CFG pair
      const r4 = await generate(components, { ...base, width: 4 * native, height: 4 * native, method: 'scalecrafter' });
      assert.equal(r4.report.unetCalls, 6);
      assert.equal(r4.image.width, 4 * native);
    } finally {
      await components.dispose();
    }
  });
}
