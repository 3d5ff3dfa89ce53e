/**
 * The UNet graphs take encoder_hidden_states of any whole number of 77-token chunks (the token axis is
 * dynamic). Checked by an exact invariant of attention: keys and values repeated twice ([e; e], 154 tokens)
 * give every query the same output as [e] (each copy gets half the probability), so the noise prediction
 * matches the 77-token one, and the captured maps of the two copies add up to the 77-token map.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { Components } from '../../src/loading/components.js';
import { patchPromptLayers } from '../../src/patch/attention-store.js';
import { guidedConditions } from '../../src/prompts/conditions.js';
import type { GuidedCondition, RowCondition } from '../../src/sampling/unet-runner.js';
import { maxAbsDiff, tensor } from '../../src/tensor/tensor.js';
import { TorchGenerator } from '../../src/tensor/torch-generator.js';
import { tinySd, tinySdxl } from '../helpers/paths.js';

const twice = (r: RowCondition): RowCondition => {
  const e = new Float32Array(2 * r.embeds.length);
  e.set(r.embeds);
  e.set(r.embeds, r.embeds.length);
  return { ...r, embeds: e };
};

for (const [name, dir] of [['tiny-sd', tinySd], ['tiny-sdxl', tinySdxl]] as const) {
  test(`${name}: plain and capturing UNet accept 154 tokens; [e; e] predicts as [e]`, async () => {
    const components = await Components.load(dir, { threads: 1 });
    try {
      const ctx = { encoder: components.promptEncoder, negativePrompt: 'blurry', classifierFreeGuidance: true, textTime: components.folder.hasTextTimeEmbedding, targetHeight: 64, targetWidth: 64 };
      const [cond] = await guidedConditions(ctx, ['a red cat'], [[0, 0]]);
      const doubled: GuidedCondition = { negative: twice(cond!.negative!), positive: twice(cond!.positive) };
      const lat = components.folder.nativeLatentSize;
      const x = new TorchGenerator(1).randn([1, 4, lat, lat]);
      const unet = await components.plainUNet();
      const a = await unet.predict(x, 500, [cond!], { guidance: 7.5 });
      const b = await unet.predict(x, 500, [doubled], { guidance: 7.5 });
      const d = maxAbsDiff(a.noise, b.noise);
      assert.ok(d < 1e-4, `plain: max abs diff ${d}`);
      // captured maps: [2, q, 154] whose halves add up to the [2, q, 77] map
      const layers = patchPromptLayers(components.crossAttentionLayers).map((l) => l.path);
      const cap = await components.capturingUNet(layers);
      try {
        const c77 = await cap.predict(x, 500, [cond!], { guidance: 7.5, captureOutputs: layers });
        const c154 = await cap.predict(x, 500, [doubled], { guidance: 7.5, captureOutputs: layers });
        assert.ok(maxAbsDiff(c154.noise, c77.noise) < 1e-4, "capturing: [e; e] predicts as [e]");
        for (const l of layers) {
          const [rows, q, keys] = c154.attention[l]!.shape as [number, number, number];
          assert.deepEqual([rows, q, keys], [2, c77.attention[l]!.shape[1], 154]);
          const sum = new Float32Array(rows * q * 77);
          for (let r = 0; r < rows * q; r++) for (let k = 0; k < 77; k++) sum[r * 77 + k] = c154.attention[l]!.data[r * 154 + k]! + c154.attention[l]!.data[r * 154 + 77 + k]!;
          const dm = maxAbsDiff(tensor([rows, q, 77], sum), c77.attention[l]!);
          assert.ok(dm < 1e-5, `${l}: max abs diff ${dm}`);
        }
      } finally {
        await cap.release();
      }
    } finally {
      await components.dispose();
    }
  });
}
