/**
 * `--lora` through the real binary: two LoRAs summed (the kohya and diffusers files of the same weights, each at
 * 0.5) reproduce oracle/lora/<model>.scale1.0 within 1e-3, and the PNG records each LoRA as A1111 does
 * (`<lora:name:scale>` after the prompt, `Lora hashes: "name: hash, ..."`).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseParameters } from '../../src/cli/parameters.js';
import { readPngTextEntry } from '../../src/cli/png-text.js';
import { loraShortHash } from '../../src/loading/lora.js';
import { maxAbsDiff } from '../../src/tensor/tensor.js';
import { loadSafetensors, writeSafetensors } from '../../src/weights/safetensors.js';
import { oracleF32 } from '../helpers/oracle.js';
import { modelsDir, tinySdxl } from '../helpers/paths.js';
import { describeRun, runCli, tempDir } from '../cli/e2e-helpers.js';

// tiny-sdxl only (two text encoders, SGM block names); tiny-sd is covered through the library in lora.test.ts.
for (const [name, model, scheduler, size, guidance] of [['tiny-sdxl', tinySdxl, 'euler', 256, '5.0']] as const) {
  test(`CLI ${name}: --lora kohya:0.5 --lora diffusers:0.5 = oracle scale 1.0 within 1e-3; PNG parameters record both`, async () => {
    const tmp = tempDir('lora-cli');
    try {
      const rel = `lora/${name}.scale1.0`;
      const init = join(tmp.dir, 'init.safetensors');
      const l = oracleF32(rel, 'latents_in');
      writeSafetensors(init, { latents: { shape: l.shape, data: l.data } });
      const kohya = join(modelsDir, 'lora', `${name}.kohya.safetensors`);
      const diffusers = join(modelsDir, 'lora', `${name}.diffusers.safetensors`);
      const out = join(tmp.dir, 'out.png');
      const saved = join(tmp.dir, 'out.safetensors');
      const args = ['generate', '--model', model, '--method', 'direct', '--prompt', 'a photo of an astronaut riding a horse on mars',
        '--width', String(size), '--height', String(size), '--steps', '4', '--guidance', guidance, '--scheduler', scheduler,
        '--init-latents', init, '--save-latents', saved, '--no-negative-prompt', '--out', out, '--quiet',
        '--lora', `${kohya}:0.5`, '--lora', `${diffusers}:0.5`];
      const run = await runCli(args);
      assert.equal(run.code, 0, describeRun(args, run));
      const d = maxAbsDiff(loadSafetensors(saved).get('latents')!.data as Float32Array, oracleF32(rel, 'output.latent').data);
      assert.ok(d <= 1e-3, `max |Δ| = ${d}`);
      const p = parseParameters(readPngTextEntry(readFileSync(out), 'parameters')!);
      assert.equal(p.prompt, `a photo of an astronaut riding a horse on mars <lora:${name}.kohya:0.5> <lora:${name}.diffusers:0.5>`);
      assert.equal(p.values.get('Lora hashes'), `${name}.kohya: ${loraShortHash(kohya)}, ${name}.diffusers: ${loraShortHash(diffusers)}`);
    } finally {
      tmp.remove();
    }
  });
}
