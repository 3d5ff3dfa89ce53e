/**
 * diffusers parity of DPM++ 2M Karras and Euler a through the real binary (ORACLE-README §8.4):
 * `generate --method direct --no-negative-prompt` at the native size must write (--save-latents) the
 * final latents of diffusers' run within 1e-3. DPM++ gets the oracle's initial latents (--init-latents);
 * Euler a runs from --seed alone (initial latents and step noise from the torch-exact generator). The
 * scheduler is named the ways users type it (ours, A1111's, diffusers' class name).
 */
import test from 'node:test';
import { join } from 'node:path';
import { oracleJson } from '../helpers/oracle.js';
import { tinySd, tinySdxl } from '../helpers/paths.js';
import { tempDir } from './e2e-helpers.js';
import { assertCliMatchesOracle, writeOracleInitLatents } from './e2e-oracle-run.js';

const RUNS = [
  { oracle: 'tiny-sd/pipeline_dpmpp_2m_karras', model: tinySd, scheduler: 'DPM++ 2M Karras', seeded: false },
  { oracle: 'tiny-sd/pipeline_euler_a', model: tinySd, scheduler: 'Euler a', seeded: true },
  { oracle: 'tiny-sdxl/pipeline_dpmpp_2m_karras', model: tinySdxl, scheduler: 'dpmpp-2m-karras', seeded: false },
  { oracle: 'tiny-sdxl/pipeline_euler_a', model: tinySdxl, scheduler: 'EulerAncestralDiscreteScheduler', seeded: true },
] as const;

interface Meta {
  call: { prompt: string; num_inference_steps: number; guidance_scale: number; height: number; width: number };
  generator_seed: number;
}

for (const r of RUNS) {
  test(`CLI parity with diffusers: ${r.oracle} (--scheduler "${r.scheduler}", output.latent within 1e-3)`, async () => {
    const { call, generator_seed: seed } = oracleJson<Meta>(r.oracle);
    const tmp = tempDir('e2e-parity-samplers');
    try {
      const saved = join(tmp.dir, 'out.safetensors');
      const args = [
        'generate', '--model', r.model, '--method', 'direct', '--prompt', call.prompt,
        '--width', String(call.width), '--height', String(call.height), '--steps', String(call.num_inference_steps),
        '--guidance', String(call.guidance_scale), '--scheduler', r.scheduler, '--seed', String(seed),
        '--save-latents', saved, '--no-negative-prompt', '--out', join(tmp.dir, 'out.png'), '--quiet',
      ];
      if (!r.seeded) args.push('--init-latents', writeOracleInitLatents(r.oracle, tmp.dir));
      await assertCliMatchesOracle(args, saved, r.oracle);
    } finally {
      tmp.remove();
    }
  });
}
