/** The scheduler-side ↔ VAE-side latent scaling of diffusers' SD/SDXL pipelines, with and without latents_mean/std. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { latentsForDecode, latentsFromEncode } from '../../src/decode/vae-latents.js';
import { tensor } from '../../src/tensor/tensor.js';
import { TorchGenerator } from '../../src/tensor/torch-generator.js';

const f = Math.fround;

test('without latents_mean/std: encode multiplies by scaling_factor in float32, decode divides', () => {
  const z = new TorchGenerator(1).randn([1, 4, 3, 5]);
  const enc = latentsFromEncode(z, { scaling_factor: 0.13025, latents_mean: null, latents_std: null });
  enc.data.forEach((v, i) => assert.equal(v, f(0.13025 * z.data[i]!)));
  const dec = latentsForDecode(enc, { scaling_factor: 0.13025, latents_mean: null, latents_std: null });
  dec.data.forEach((v, i) => assert.ok(Math.abs(v - z.data[i]!) < 1e-6));
});

test('with latents_mean/std (diffusers SDXL img2img prepare_latents): (z − mean_c) · s / std_c per channel, inverted by decode', () => {
  const cfg = { scaling_factor: 0.5, latents_mean: [0.1, -0.2, 0.3, 0], latents_std: [2, 0.5, 1, 4] };
  const z = tensor([1, 4, 1, 2], Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]));
  const enc = latentsFromEncode(z, cfg);
  const want = [0, 0, 1, 1, 2, 2, 3, 3].map((c, i) => f(f(f(z.data[i]! - f(cfg.latents_mean[c]!)) * 0.5) / f(cfg.latents_std[c]!)));
  assert.deepEqual(Array.from(enc.data), want);
  assert.equal(enc.data[0], f(f(0.9 * 0.5) / 2));
  const back = latentsForDecode(enc, cfg);
  back.data.forEach((v, i) => assert.ok(Math.abs(v - z.data[i]!) < 1e-6, `${i}: ${v}`));
});
