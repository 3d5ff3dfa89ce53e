/**
 * Guidance <= 1 (issue 11.1): as diffusers' `do_classifier_free_guidance = guidance_scale > 1`, every branch of
 * every method (native pass, patch and dilated branches, ScaleCrafter's ND-CFG) runs one UNet row per window
 * and follows the prompt alone: exactly half the UNet rows of a CFG run, the negative prompt ignored, two
 * prompts giving two images, and a prediction equal to CFG at scale 1 up to float rounding.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { generate } from '../../src/pipeline/generate.js';
import { Components } from '../../src/loading/components.js';
import { guidedConditions } from '../../src/prompts/conditions.js';
import { METHODS, type GenerateOptions } from '../../src/options/index.js';
import { maxAbsDiff, tensor } from '../../src/tensor/tensor.js';
import { TorchGenerator } from '../../src/tensor/torch-generator.js';
import { tinySd, tinySdxl } from '../helpers/paths.js';
import type { GenerateResult } from '../../src/pipeline/result.js';

const last = (r: GenerateResult) => r.stages[r.stages.length - 1]!.latents;

test('tiny-sd 2x: guidance 0 and 1 run one branch in every method, half the UNet rows, prompt-driven', async () => {
  const components = await Components.load(tinySd, { threads: 1 });
  try {
    const base: GenerateOptions = { prompt: 'a corgi on the lawn', width: 128, height: 128, steps: 2, seed: 5 };
    for (const method of METHODS) {
      const cfg = await generate(components, { ...base, method });
      const off = await generate(components, { ...base, method, guidance: 0 });
      assert.equal(off.report.unetCalls * 2, cfg.report.unetCalls, `${method}: half the UNet rows`);
      assert.ok(off.report.unetCalls > 0);
      assert.ok(maxAbsDiff(last(off), last(cfg)) > 1e-4, `${method}: differs from guidance 7.5`);
      if (method !== 'accdiffusion') continue; // the rest once, on the method with every branch
      const one = await generate(components, { ...base, method, guidance: 1, multiGuidance: 1 });
      // 0 and 1 both mean "no CFG": the scale is never applied
      assert.equal(maxAbsDiff(last(off), last(one)), 0, `${method}: guidance 0 = guidance 1`);
      // the negative prompt plays no part, the prompt does
      const neg = await generate(components, { ...base, method, guidance: 0, negativePrompt: 'a cat in the snow' });
      assert.equal(maxAbsDiff(last(off), last(neg)), 0, `${method}: negative prompt ignored`);
      const other = await generate(components, { ...base, method, guidance: 0, prompt: 'a red bicycle at night' });
      assert.ok(maxAbsDiff(last(off), last(other)) > 1e-4, `${method}: another prompt gives another image`);
    }
    // ScaleCrafter 4x has ND-CFG steps (6 rows with CFG); without CFG each step is one plain dilated row
    const sc = await generate(components, { ...base, width: 256, height: 256, method: 'scalecrafter', guidance: 0.5 });
    assert.equal(sc.report.unetCalls, 2);
  } finally {
    await components.dispose();
  }
});

test('tiny-sdxl: the one-branch prediction equals CFG at scale 1 (up to rounding)', async () => {
  const components = await Components.load(tinySdxl, { threads: 1 });
  try {
    const ctx = { encoder: components.promptEncoder, negativePrompt: 'blurry', textTime: true, targetHeight: 256, targetWidth: 256 };
    const [withCfg] = await guidedConditions({ ...ctx, classifierFreeGuidance: true }, ['a corgi'], [[0, 0]]);
    const [without] = await guidedConditions({ ...ctx, classifierFreeGuidance: false }, ['a corgi'], [[0, 0]]);
    assert.ok(withCfg!.negative && !without!.negative);
    const unet = await components.plainUNet();
    const x = new TorchGenerator(1).randn([1, 4, 32, 32]);
    const before = unet.calls;
    const a = await unet.predict(x, 500, [without!], { guidance: 7.5 });
    assert.equal(unet.calls - before, 1);
    const b = await unet.predict(x, 500, [withCfg!], { guidance: 1 });
    assert.equal(unet.calls - before, 3);
    assert.deepEqual(a.noise.shape, [1, 4, 32, 32]);
    assert.ok(maxAbsDiff(a.noise, b.noise) < 1e-5, `max diff ${maxAbsDiff(a.noise, b.noise)}`);
    assert.equal(maxAbsDiff(a.noise, tensor(a.raw.shape, a.raw.data)), 0);
  } finally {
    await components.dispose();
  }
});
