/**
 * The latents → VAE-input scaling of diffusers' StableDiffusionXLPipeline.__call__ (v0.27.2): with a VAE config
 * holding both `latents_mean` and `latents_std` (per latent channel), `z = latents · std / scaling_factor + mean`;
 * otherwise `z = latents / scaling_factor`. (The SD pipeline only divides; SD VAEs have no mean/std.)
 * The img2img pipelines' `prepare_latents` apply the inverse to the encoder's sample (latentsFromEncode).
 * force_upcast needs nothing here: the decoder always computes in float32, half weights are cast in the graph.
 */
import { tensor, type Tensor } from '../tensor/tensor.js';
import type { AutoencoderKLConfig } from '../models/vae-config.js';

/** The decoder input for `latents` [B, C, h, w]. */
export function latentsForDecode(latents: Tensor, config: Pick<AutoencoderKLConfig, 'scaling_factor' | 'latents_mean' | 'latents_std'>): Tensor {
  const s = config.scaling_factor;
  const mean = config.latents_mean;
  const std = config.latents_std;
  if (!mean || !std) return tensor(latents.shape, Float32Array.from(latents.data, (v) => v / s));
  const [B, C, h, w] = latents.shape as [number, number, number, number];
  const out = tensor(latents.shape);
  const plane = h * w;
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < C; c++) {
      const m = mean[c] ?? 0;
      const sd = std[c] ?? 1;
      const o = (b * C + c) * plane;
      for (let i = 0; i < plane; i++) out.data[o + i] = (latents.data[o + i]! * sd) / s + m;
    }
  }
  return out;
}

/**
 * The scheduler-side latents for a VAE encoder sample `z` [B, C, h, w], as diffusers' StableDiffusionXLImg2ImgPipeline
 * `prepare_latents` (v0.27.2) computes them in float32: `(z − mean) · scaling_factor / std` with both
 * `latents_mean` and `latents_std` in the VAE config, else `scaling_factor · z`. Inverse of latentsForDecode.
 */
export function latentsFromEncode(z: Tensor, config: Pick<AutoencoderKLConfig, 'scaling_factor' | 'latents_mean' | 'latents_std'>): Tensor {
  const f = Math.fround;
  const s = config.scaling_factor;
  const mean = config.latents_mean;
  const std = config.latents_std;
  if (!mean || !std) return tensor(z.shape, Float32Array.from(z.data, (v) => f(s * v)));
  const [B, C, h, w] = z.shape as [number, number, number, number];
  const out = tensor(z.shape);
  const plane = h * w;
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < C; c++) {
      const m = f(mean[c] ?? 0);
      const sd = f(std[c] ?? 1);
      const o = (b * C + c) * plane;
      for (let i = 0; i < plane; i++) out.data[o + i] = f(f(f(z.data[o + i]! - m) * s) / sd);
    }
  }
  return out;
}
