/**
 * The plain pipeline through the library against diffusers' StableDiffusion(XL)Pipeline (ORACLE-README
 * §4.8): every step's latents and the final latents within 1e-3, and the decoded 8-bit image within one
 * level of diffusers' float image.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { loadPipeline } from '../../src/pipeline/pipeline.js';
import type { RunContext, RunHooks } from '../../src/pipeline/pipeline-api.js';
import { maxAbsDiff, tensor, type Tensor } from '../../src/tensor/tensor.js';
import { oracleF32, oracleJson } from '../helpers/oracle.js';
import { tinySd, tinySdxl } from '../helpers/paths.js';

const CASES = [
  { rel: 'tiny-sd/pipeline_ddim', model: tinySd, scheduler: 'ddim' as const },
  { rel: 'tiny-sd/pipeline_euler', model: tinySd, scheduler: 'euler' as const },
  { rel: 'tiny-sdxl/pipeline_euler', model: tinySdxl, scheduler: 'euler' as const },
];

for (const c of CASES) {
  test(`${c.rel}: step latents, final latents and image match diffusers`, async () => {
    const call = oracleJson<{ call: { prompt: string; num_inference_steps: number; guidance_scale: number; height: number; width: number } }>(c.rel).call;
    const init = oracleF32(c.rel, 'latents_in');
    const pipe = await loadPipeline(c.model, { threads: 1 });
    try {
      const steps: Tensor[] = [];
      const ctx: RunContext & RunHooks = { onStepLatents: (_stage, i, l) => (steps[i] = l) };
      const r = await pipe.generate(
        { prompt: call.prompt, negativePrompt: null, width: call.width, height: call.height, steps: call.num_inference_steps, guidance: call.guidance_scale, scheduler: c.scheduler, method: 'direct', initLatents: tensor(init.shape, init.data) },
        ctx,
      );
      steps.forEach((l, i) => {
        const d = maxAbsDiff(l, oracleF32(c.rel, `step_latents.${i}`).data);
        assert.ok(d <= 1e-3, `step ${i}: ${d}`);
      });
      assert.equal(steps.length, call.num_inference_steps);
      const final = maxAbsDiff(r.stages[0]!.latents, oracleF32(c.rel, 'output.latent').data);
      assert.ok(final <= 1e-3, `final latents: ${final}`);
      // output.np is [1, H, W, 3] in [0, 1]; ours is the same image rounded to 8 bits
      const np = oracleF32(c.rel, 'output.np').data;
      let worst = 0;
      for (let i = 0; i < np.length; i++) worst = Math.max(worst, Math.abs(r.image.rgb[i]! / 255 - np[i]!));
      assert.ok(worst <= 0.5 / 255 + 1e-3, `image: ${worst * 255} levels`);
    } finally {
      await pipe.dispose();
    }
  });
}
