/**
 * diffusers parity through the real binary (issue 2's command line, ORACLE-README §4.8): `generate
 * --method direct` at the native size with the oracle's initial latents (--init-latents), prompt,
 * steps, guidance and scheduler, and no negative prompt, must write (--save-latents) the final latents
 * of diffusers' StableDiffusionPipeline / StableDiffusionXLPipeline run, `output.latent`, within 1e-3.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadSafetensors, writeSafetensors } from '../../src/weights/safetensors.js';
import { maxAbsDiff } from '../../src/tensor/tensor.js';
import { oracleF32, oracleJson } from '../helpers/oracle.js';
import { tinySd, tinySdxl } from '../helpers/paths.js';
import { describeRun, runCli, tempDir } from './e2e-helpers.js';

const PROMPT = 'a photo of an astronaut riding a horse on mars';

const RUNS = [
  { oracle: 'tiny-sd/pipeline_ddim', model: tinySd, scheduler: 'ddim', size: 64, guidance: '7.5' },
  { oracle: 'tiny-sd/pipeline_euler', model: tinySd, scheduler: 'euler', size: 64, guidance: '7.5' },
  { oracle: 'tiny-sdxl/pipeline_euler', model: tinySdxl, scheduler: 'euler', size: 256, guidance: '5.0' },
] as const;

for (const r of RUNS) {
  test(`CLI parity with diffusers: ${r.oracle} (output.latent within 1e-3)`, async () => {
    const meta = oracleJson<{ call: { prompt: string; num_inference_steps: number; height: number; width: number } }>(r.oracle);
    // The command below must describe the oracle's call.
    assert.deepEqual([meta.call.prompt, meta.call.num_inference_steps, meta.call.width, meta.call.height], [PROMPT, 4, r.size, r.size]);
    const tmp = tempDir('e2e-parity');
    try {
      const init = join(tmp.dir, 'init.safetensors');
      const latentsIn = oracleF32(r.oracle, 'latents_in');
      writeSafetensors(init, { latents: { shape: latentsIn.shape, data: latentsIn.data } });
      const saved = join(tmp.dir, 'out.safetensors');
      const args = [
        'generate', '--model', r.model, '--method', 'direct', '--prompt', PROMPT,
        '--width', String(r.size), '--height', String(r.size), '--steps', '4', '--guidance', r.guidance,
        '--scheduler', r.scheduler, '--init-latents', init, '--save-latents', saved, '--no-negative-prompt',
        '--out', join(tmp.dir, 'out.png'), '--quiet',
      ];
      const run = await runCli(args);
      assert.equal(run.code, 0, describeRun(args, run));
      const got = loadSafetensors(saved).get('latents');
      assert.ok(got && got.data instanceof Float32Array, 'saved latents');
      const want = oracleF32(r.oracle, 'output.latent');
      assert.deepEqual(got.shape, want.shape);
      const diff = maxAbsDiff(got.data, want.data);
      assert.ok(diff < 1e-3, `max |Δ| = ${diff}`);
    } finally {
      tmp.remove();
    }
  });
}
