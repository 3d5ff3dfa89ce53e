/**
 * `--vae` (src/loading/vae-override.ts, src/decode/vae-latents.ts) on tiny-sdxl: a VAE folder whose config
 * says the same thing another way (scaling_factor 1 with latents_std = 1/0.13025, mean 0) decodes to the same
 * image, a latents_mean shifts it (the folder's config is read), and the model's VAE as a single file with
 * LDM names or diffusers names gives the same image as the model's own VAE. The latents never change.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { folderArchitecture } from '../../src/loading/architectures.js';
import { loadPipeline } from '../../src/pipeline/pipeline.js';
import { latentsForDecode } from '../../src/decode/vae-latents.js';
import { tensor } from '../../src/tensor/tensor.js';
import { planCheckpoint, writeCheckpointFromFolder } from '../helpers/checkpoint-files.js';
import { tinySd, tinySdxl } from '../helpers/paths.js';
import { tempDir } from '../cli/e2e-helpers.js';

async function render(vae?: string): Promise<{ rgb: Uint8Array; latents: Float32Array }> {
  const pipe = await loadPipeline(tinySdxl, { threads: 1, ...(vae ? { vae } : {}) });
  try {
    const r = await pipe.generate({ prompt: 'a photo of an astronaut', negativePrompt: null, width: 256, height: 256, steps: 2, method: 'direct', seed: 3 });
    return { rgb: r.image.rgb, latents: r.stages[0]!.latents.data };
  } finally {
    await pipe.dispose();
  }
}

function maxLevelDiff(a: Uint8Array, b: Uint8Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

test('latentsForDecode: latents/scaling, or latents·std/scaling + mean per channel when both are set', () => {
  const l = tensor([1, 2, 1, 2], Float32Array.from([1, 2, 3, 4]));
  assert.deepEqual([...latentsForDecode(l, { scaling_factor: 0.5, latents_mean: null, latents_std: null }).data], [2, 4, 6, 8]);
  assert.deepEqual([...latentsForDecode(l, { scaling_factor: 0.5, latents_mean: [1, -1], latents_std: [2, 0.5] }).data], [5, 9, 2, 3]);
});

test('--vae folder and single files on tiny-sdxl: config honoured, LDM and diffusers names give the model VAE\'s image', async () => {
  const tmp = tempDir('vae-override');
  try {
    const base = await render();
    const same = join(tmp.dir, 'same');
    cpSync(join(tinySdxl, 'vae'), same, { recursive: true });
    const cfg = JSON.parse(readFileSync(join(same, 'config.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(same, 'config.json'), JSON.stringify({ ...cfg, scaling_factor: 1, latents_mean: [0, 0, 0, 0], latents_std: Array(4).fill(1 / 0.13025) }));
    const shifted = join(tmp.dir, 'shifted');
    cpSync(same, shifted, { recursive: true });
    writeFileSync(join(shifted, 'config.json'), JSON.stringify({ ...cfg, latents_mean: [3, -3, 3, -3], latents_std: [1, 1, 1, 1] }));
    const ldmFile = join(tmp.dir, 'vae-ldm.safetensors');
    const plan = planCheckpoint(folderArchitecture(tinySdxl, 'tiny-sdxl'), 'sdxl').filter((t) => t.key.startsWith('first_stage_model.'));
    writeCheckpointFromFolder(ldmFile, tinySdxl, plan.map((t) => ({ ...t, key: t.key.slice('first_stage_model.'.length) })));

    const a = await render(same);
    assert.deepEqual(a.latents, base.latents);
    assert.ok(maxLevelDiff(a.rgb, base.rgb) <= 1, 'equivalent config');
    const b = await render(shifted);
    const shift = maxLevelDiff(b.rgb, base.rgb);
    assert.ok(shift > 10, `latents_mean is used (max difference ${shift} levels)`);
    const c = await render(ldmFile);
    assert.deepEqual(c.rgb, base.rgb);
    const d = await render(join(tinySdxl, 'vae', 'diffusion_pytorch_model.safetensors'));
    assert.deepEqual(d.rgb, base.rgb);
  } finally {
    tmp.remove();
  }
});

test('--vae of another family (tiny-sd\'s ×2 VAE on tiny-sdxl\'s ×8 model) is refused in one line before anything runs', async () => {
  await assert.rejects(loadPipeline(tinySdxl, { threads: 1, vae: join(tinySd, 'vae') }),
    (e: unknown) => e instanceof Error && e.name === 'ConfigError' && /--vae: .* has 4 latent channels and a ×2 decoder, the model's VAE 4 and ×8: it belongs to another model family/.test(e.message));
});
