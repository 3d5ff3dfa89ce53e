/**
 * The plain pipeline with DPM++ 2M Karras and Euler a through the library against diffusers'
 * StableDiffusion(XL)Pipeline (ORACLE-README §8.4): every step's latents and the final latents within
 * 1e-3. DPM++ gets the oracle's initial latents; Euler a runs from the seed alone, so its initial latents
 * and its per-step noise come from the torch-exact generator in diffusers' order (§8.1).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { loadPipeline } from '../../src/pipeline/pipeline.js';
import type { RunContext } from '../../src/pipeline/pipeline-api.js';
import { maxAbsDiff, tensor, type Tensor } from '../../src/tensor/tensor.js';
import { TorchGenerator } from '../../src/tensor/torch-generator.js';
import { oracleF32, oracleJson } from '../helpers/oracle.js';
import { tinySd, tinySdxl } from '../helpers/paths.js';

const CASES = [
  { rel: 'tiny-sd/pipeline_dpmpp_2m_karras', model: tinySd, scheduler: 'dpmpp-2m-karras' as const },
  { rel: 'tiny-sd/pipeline_euler_a', model: tinySd, scheduler: 'euler-a' as const },
  { rel: 'tiny-sdxl/pipeline_dpmpp_2m_karras', model: tinySdxl, scheduler: 'dpmpp-2m-karras' as const },
  { rel: 'tiny-sdxl/pipeline_euler_a', model: tinySdxl, scheduler: 'euler-a' as const },
];

interface Meta {
  call: { prompt: string; num_inference_steps: number; guidance_scale: number; height: number; width: number };
  generator_seed: number;
  timesteps_used: number[];
}

for (const c of CASES) {
  test(`${c.rel}: step latents and final latents match diffusers within 1e-3`, async () => {
    const meta = oracleJson<Meta>(c.rel);
    const call = meta.call;
    const init = oracleF32(c.rel, 'latents_in');
    const seeded = c.scheduler === 'euler-a';
    if (seeded) {
      // draw 0 of the generator is latents_in, draw 1 + i the noise of step i
      const g = new TorchGenerator(meta.generator_seed);
      assert.equal(maxAbsDiff(g.randn(init.shape), init.data), 0);
      for (let i = 0; i < call.num_inference_steps; i++) assert.equal(maxAbsDiff(g.randn(init.shape), oracleF32(c.rel, `noise.${i}`).data), 0);
    }
    const pipe = await loadPipeline(c.model, { threads: 1 });
    try {
      const steps: Tensor[] = [];
      const ctx: RunContext = { onStepLatents: (_stage, i, l) => (steps[i] = l) };
      const r = await pipe.generate({
        prompt: call.prompt, negativePrompt: null, width: call.width, height: call.height, steps: call.num_inference_steps,
        guidance: call.guidance_scale, scheduler: c.scheduler, method: 'direct',
        ...(seeded ? { seed: meta.generator_seed } : { initLatents: tensor(init.shape, init.data) }),
      }, ctx);
      assert.equal(steps.length, call.num_inference_steps);
      let worst = 0;
      steps.forEach((l, i) => {
        const d = maxAbsDiff(l, oracleF32(c.rel, `step_latents.${i}`).data);
        worst = Math.max(worst, d);
        assert.ok(d <= 1e-3, `step ${i}: ${d}`);
      });
      const final = maxAbsDiff(r.stages[0]!.latents, oracleF32(c.rel, 'output.latent').data);
      assert.ok(final <= 1e-3, `final latents: ${final}`);
      console.log(`# ${c.rel}: worst step ${worst.toExponential(2)}, final ${final.toExponential(2)}`);
    } finally {
      await pipe.dispose();
    }
  });
}
