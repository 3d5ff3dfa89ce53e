/**
 * `upscale --method direct --scale 1` through the CLI against diffusers' StableDiffusion(XL)Img2ImgPipeline
 * (fixture README §8.5): encoded latents, the noised start, every step's latents and the output latents
 * within 1e-3, steps run = int(steps · strength), the 8-bit image within one level, and the PNG's metadata.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import sharp from 'sharp';
import { main, type LoadPipelineFn } from '../../src/cli/main.js';
import { readPngTextEntry } from '../../src/cli/png-text.js';
import { loadPipeline } from '../../src/pipeline/pipeline.js';
import type { RunContext } from '../../src/pipeline/pipeline-api.js';
import { maxAbsDiff, type Tensor } from '../../src/tensor/tensor.js';
import { loadSafetensors } from '../../src/weights/safetensors.js';
import { oracle, oracleF32, oracleJson } from '../helpers/oracle.js';
import { oracleDir, tinySd, tinySdxl } from '../helpers/paths.js';
import { tempDir } from './e2e-helpers.js';
import { stringStream } from './string-stream.js';

const CASES = [
  { rel: 'tiny-sd/img2img_ddim_s06', input: 'tiny-sd/img2img_input_w64_h64', model: tinySd, scheduler: 'ddim' },
  { rel: 'tiny-sd/img2img_ddim_s03', input: 'tiny-sd/img2img_input_w64_h64', model: tinySd, scheduler: 'ddim' },
  { rel: 'tiny-sd/img2img_euler_s06', input: 'tiny-sd/img2img_input_w64_h64', model: tinySd, scheduler: 'euler' },
  { rel: 'tiny-sd/img2img_euler_s03', input: 'tiny-sd/img2img_input_w64_h64', model: tinySd, scheduler: 'euler' },
  { rel: 'tiny-sdxl/img2img_euler_s06', input: 'tiny-sdxl/img2img_input_w256_h256', model: tinySdxl, scheduler: 'euler' },
  { rel: 'tiny-sdxl/img2img_euler_s03', input: 'tiny-sdxl/img2img_input_w256_h256', model: tinySdxl, scheduler: 'euler' },
  { rel: 'tiny-sdxl/img2img_euler_w256_h192_s06', input: 'tiny-sdxl/img2img_input_w256_h192', model: tinySdxl, scheduler: 'euler' },
  { rel: 'tiny-sdxl/img2img_euler_aesthetic_args', input: 'tiny-sdxl/img2img_input_w256_h256', model: tinySdxl, scheduler: 'euler' },
];

interface Call { prompt: string; strength: number; num_inference_steps: number; guidance_scale: number }

/** loadPipeline with one thread, recording every step's latents of each generate call. */
function recordingLoader(steps: Tensor[]): LoadPipelineFn {
  return async (spec, options) => {
    const p = await loadPipeline(spec, { ...options, threads: 1 });
    const ctx: Pick<RunContext, 'onStepLatents'> = { onStepLatents: (_stage, i, l) => (steps[i] = l) };
    return { model: p.model, generate: (o, c) => p.generate(o, { ...c, ...ctx }), estimate: (o) => p.estimate(o), dispose: () => p.dispose() };
  };
}

for (const c of CASES) {
  test(`upscale --method direct --scale 1 = diffusers img2img: ${c.rel}`, async (t) => {
    const meta = oracleJson<{ call: Call; generator_seed: number; timesteps_used: number[] }>(c.rel);
    const call = meta.call;
    const png = join(oracleDir, `${c.input}.png`);
    const { dir, remove } = tempDir('upscale-parity-');
    try {
      const steps: Tensor[] = [];
      const stderr = stringStream();
      const out = join(dir, 'out.png');
      const lat = join(dir, 'lat.safetensors');
      const code = await main([
        'upscale', '--image', png, '--model', c.model, '--prompt', call.prompt, '--method', 'direct', '--scale', '1', '--no-negative-prompt',
        '--strength', String(call.strength), '--steps', String(call.num_inference_steps), '--guidance', String(call.guidance_scale),
        '--seed', String(meta.generator_seed), '--scheduler', c.scheduler, '--out', out, '--save-latents', lat, '--quiet',
      ], { stdout: stringStream(), stderr, loadPipeline: recordingLoader(steps) });
      assert.equal(code, 0, stderr.text());

      const saved = loadSafetensors(lat);
      const diffs: string[] = [];
      const near = (name: string, ours: string | Tensor, theirs: string): void => {
        const t = typeof ours === 'string' ? (saved.get(ours)! as unknown as Tensor) : ours;
        const d = maxAbsDiff(t, oracleF32(c.rel, theirs).data);
        diffs.push(`${name} ${d.toExponential(1)}`);
        assert.ok(d <= 1e-3, `${name}: max |diff| ${d}`);
      };
      near('encoded latents', 'img2img_encoded', 'init.latents');
      near('noised start', 'img2img_noisy', 'init.noisy_latents');
      // diffusers runs int(steps · strength) steps: 6·0.6 → 3, 6·0.3 → 1
      assert.equal(steps.length, meta.timesteps_used.length);
      assert.equal(steps.length, Math.trunc(call.num_inference_steps * call.strength));
      steps.forEach((l, i) => near(`step ${i}`, l, `step_latents.${i}`));
      near('output latents', 'latents', 'output.latent');
      t.diagnostic(`max |diff|: ${diffs.join(', ')}`);

      // the 8-bit image: diffusers' pil output, off by at most one level at rounding boundaries
      const want = oracle(c.rel).get('output.uint8')!;
      const got = await sharp(out).raw().toBuffer({ resolveWithObject: true });
      assert.equal(got.info.channels, 3);
      let worst = 0;
      for (let i = 0; i < want.data.length; i++) worst = Math.max(worst, Math.abs(got.data[i]! - Number(want.data[i]!)));
      assert.ok(worst <= 1, `image: off by ${worst} levels`);

      const text = readPngTextEntry(readFileSync(out), 'parameters')!;
      const sha = createHash('sha256').update(readFileSync(png)).digest('hex');
      assert.match(text, new RegExp(`Denoising strength: ${call.strength}, Input image: ${c.input.split('/')[1]}\\.png, Input image SHA256: ${sha}`));
    } finally {
      remove();
    }
  });
}
