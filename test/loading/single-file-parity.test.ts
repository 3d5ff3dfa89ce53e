/**
 * Single-file checkpoints through the library against the folder they were made from (test/fixtures/MODEL-FILES-README.md §9.3):
 * tiny-sdxl.safetensors with the tiny-sdxl configs gives latents bit-identical to the folder (and so to
 * oracle/tiny-sdxl/pipeline_euler); tiny-sd.fp16.safetensors with the tiny-sd configs matches
 * oracle/single-file/tiny-sd.fp16.pipeline_ddim (diffusers run on the fp16 weights upcast) within 1e-3.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadPipeline } from '../../src/pipeline/pipeline.js';
import type { RunContext } from '../../src/pipeline/pipeline-api.js';
import type { LoadOptions } from '../../src/pipeline/pipeline-api.js';
import { maxAbsDiff, tensor, type Tensor } from '../../src/tensor/tensor.js';
import { oracleF32, oracleJson } from '../helpers/oracle.js';
import { modelsDir, tinySd, tinySdxl } from '../helpers/paths.js';

interface Call { prompt: string; num_inference_steps: number; guidance_scale: number; height: number; width: number }

async function run(model: string, load: LoadOptions, rel: string, scheduler: 'ddim' | 'euler'): Promise<{ steps: Tensor[]; final: Tensor }> {
  const call = oracleJson<{ call: Call }>(rel).call;
  const init = oracleF32(rel, 'latents_in');
  const pipe = await loadPipeline(model, { threads: 1, ...load });
  try {
    const steps: Tensor[] = [];
    const ctx: RunContext = { onStepLatents: (_stage, i, l) => (steps[i] = l) };
    const r = await pipe.generate(
      { prompt: call.prompt, negativePrompt: null, width: call.width, height: call.height, steps: call.num_inference_steps, guidance: call.guidance_scale, scheduler, method: 'direct', initLatents: tensor(init.shape, init.data) },
      ctx,
    );
    return { steps, final: r.stages[0]!.latents };
  } finally {
    await pipe.dispose();
  }
}

test('tiny-sdxl.safetensors with --config tiny-sdxl: latents bit-identical to the folder and within 1e-3 of diffusers', async () => {
  const rel = 'tiny-sdxl/pipeline_euler';
  const file = await run(join(modelsDir, 'single-file', 'tiny-sdxl.safetensors'), { config: tinySdxl }, rel, 'euler');
  const folder = await run(tinySdxl, {}, rel, 'euler');
  assert.equal(file.steps.length, 4);
  file.steps.forEach((l, i) => assert.deepEqual(l.data, folder.steps[i]!.data, `step ${i} differs from the folder's`));
  assert.deepEqual(file.final.data, folder.final.data);
  const d = maxAbsDiff(file.final, oracleF32(rel, 'output.latent').data);
  assert.ok(d <= 1e-3, `final latents vs diffusers: ${d}`);
});

test('tiny-sd.fp16.safetensors with --config tiny-sd: oracle/single-file/tiny-sd.fp16.pipeline_ddim within 1e-3', async () => {
  const rel = 'single-file/tiny-sd.fp16.pipeline_ddim';
  const r = await run(join(modelsDir, 'single-file', 'tiny-sd.fp16.safetensors'), { config: tinySd }, rel, 'ddim');
  r.steps.forEach((l, i) => {
    const d = maxAbsDiff(l, oracleF32(rel, `step_latents.${i}`).data);
    assert.ok(d <= 1e-3, `step ${i}: ${d}`);
  });
  const d = maxAbsDiff(r.final, oracleF32(rel, 'output.latent').data);
  assert.ok(d <= 1e-3, `final latents: ${d}`);
  // The fp32 folder's run differs by ~0.024 (test/fixtures/MODEL-FILES-README.md §9.3): the fp16 weights really were used.
  const fp32 = maxAbsDiff(r.final, oracleF32('tiny-sd/pipeline_ddim', 'output.latent').data);
  assert.ok(fp32 > 1e-3, `fp16 run equals the fp32 one (${fp32})`);
});
