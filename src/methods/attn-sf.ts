/**
 * Attn-SF baseline: direct inference at the target size with the entropy-preserving attention scale of
 * Jin et al., "Training-free Diffusion Model Adaptation for Variable-Sized Text-to-Image Synthesis"
 * (NeurIPS 2023, arXiv 2306.08645, §4): self-attention logits use sqrt(log_n N)/sqrt(d) instead of
 * 1/sqrt(d), where N is the layer's token count at inference and n the count at the training size. The
 * public implementation we follow is ScaledAttnProcessor in YingqingHe/ScaleCrafter model.py, which
 * multiplies diffusers' scale by sqrt(log(N)/log(N/ratio)) for self-attention only. The ratio N/n is the
 * same for every layer (the latent's area ratio); the graph derives N per layer (models/attention.ts).
 */
import type { Tensor } from '../tensor/tensor.js';
import { runNativePass, type TargetSizeRunArgs } from '../pipeline/native-pass.js';

/** Tokens at the target latent size / tokens at the native size. */
export function attnSfTokenRatio(latentHeight: number, latentWidth: number, nativeLatent: number): number {
  return (latentHeight * latentWidth) / (nativeLatent * nativeLatent);
}

/** Attn-SF needs nothing beyond the shared target-size run arguments; its UNet variant follows from the latent size. */
export type AttnSfArgs = TargetSizeRunArgs;

/** Denoises at the target size with scaled self-attention; returns the latents and the UNet rows run. */
export async function runAttnSf(a: AttnSfArgs): Promise<{ latents: Tensor; unetCalls: number }> {
  const [, , h, w] = a.latents.shape as [number, number, number, number];
  const ratio = attnSfTokenRatio(h, w, a.components.folder.nativeLatentSize);
  // At the native size the factor is 1: the plain (shared) UNet is the same graph.
  const own = ratio !== 1;
  const unet = own ? await a.components.variantUNet({ selfAttentionTokenRatio: ratio }) : await a.components.plainUNet();
  const before = unet.calls;
  try {
    const latents = await runNativePass({
      stage: 1, unet, scheduler: a.scheduler, latents: a.latents, condition: a.condition, guidance: a.guidance, guidanceRescale: a.guidanceRescale,
      ...(a.onStepLatents ? { onStepLatents: a.onStepLatents } : {}),
      ...(a.onProgress ? { onProgress: a.onProgress } : {}),
      ...(a.signal ? { signal: a.signal } : {}),
    });
    return { latents, unetCalls: unet.calls - before };
  } finally {
    if (own) await unet.release();
  }
}
