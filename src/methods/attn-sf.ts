/**
 * Attn-SF baseline: direct inference at the target size with the entropy-preserving attention scale of
 * Jin et al., "Training-free Diffusion Model Adaptation for Variable-Sized Text-to-Image Synthesis"
 * (NeurIPS 2023, arXiv 2306.08645, §4): self-attention logits use sqrt(log_n N)/sqrt(d) instead of
 * 1/sqrt(d), where N is the layer's token count at inference and n the count at the training size. The
 * public implementation we follow is ScaledAttnProcessor in YingqingHe/ScaleCrafter model.py, which
 * multiplies diffusers' scale by sqrt(log(N)/log(N/ratio)) for self-attention only. The ratio N/n is the
 * same for every layer (the latent's area ratio); the graph derives N per layer (models/attention.ts).
 */
import { firstPassLoop, guidedPredictor } from './direct.js';
import type { FirstPassResult, FirstPassRun, GenerationMethod } from './method.js';

/** Tokens at the target latent size / tokens at the native size. */
export function attnSfTokenRatio(latentHeight: number, latentWidth: number, nativeLatent: number): number {
  return (latentHeight * latentWidth) / (nativeLatent * nativeLatent);
}

/** Denoises at the target size with scaled self-attention. */
async function firstPass(run: FirstPassRun): Promise<FirstPassResult> {
  const [, , h, w] = run.latents.shape as [number, number, number, number];
  const ratio = attnSfTokenRatio(h, w, run.components.folder.nativeLatentSize);
  // At the native size the factor is 1: the plain (shared) UNet is the same graph.
  const own = ratio !== 1;
  const unet = own ? await run.components.variantUNet({ selfAttentionTokenRatio: ratio }) : await run.components.plainUNet();
  try {
    return await firstPassLoop(run, unet, guidedPredictor(unet, run.scheduler, run.condition, run.options, run.hooks));
  } finally {
    if (own) await unet.release();
  }
}

export const attnSf: GenerationMethod = {
  name: 'attn-sf',
  summary: 'direct inference with self-attention scaled by √(log N / log n) (Jin et al. 2023)',
  progressive: false,
  windowed: false,
  firstPass,
};
