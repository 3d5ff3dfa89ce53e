/**
 * diffusers parity through the real binary (issue 2's command line, ORACLE-README §4.8): `generate
 * --method direct` at the native size with the oracle's initial latents (--init-latents), prompt,
 * steps, guidance and scheduler, and no negative prompt, must write (--save-latents) the final latents
 * of diffusers' StableDiffusionPipeline / StableDiffusionXLPipeline run, `output.latent`, within 1e-3.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { oracleJson } from '../helpers/oracle.js';
import { tinySd, tinySdxl } from '../helpers/paths.js';
import { tempDir } from './e2e-helpers.js';
import { assertCliMatchesOracle, writeOracleInitLatents } from './e2e-oracle-run.js';

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
      const init = writeOracleInitLatents(r.oracle, tmp.dir);
      const saved = join(tmp.dir, 'out.safetensors');
      const args = [
        'generate', '--model', r.model, '--method', 'direct', '--prompt', PROMPT,
        '--width', String(r.size), '--height', String(r.size), '--steps', '4', '--guidance', r.guidance,
        '--scheduler', r.scheduler, '--init-latents', init, '--save-latents', saved, '--no-negative-prompt',
        '--out', join(tmp.dir, 'out.png'), '--quiet',
      ];
      await assertCliMatchesOracle(args, saved, r.oracle);
    } finally {
      tmp.remove();
    }
  });
}
