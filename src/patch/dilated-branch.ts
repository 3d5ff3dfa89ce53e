/**
 * The dilated (global) branch of DemoFusion with AccDiffusion's window interaction (spec §5): the latent
 * is split into s² strided sub-latents of about native size, a Gaussian-blurred copy of them goes through
 * the UNet — with every element randomly permuted across the sub-latents of a batch before the call and
 * routed back after it (window-interaction.ts) — and the predictions are scattered back to full size.
 */
import type { RandomSource } from '../tensor/random.js';
import { tensor, type Tensor } from '../tensor/tensor.js';
import { blurForDilation, gatherSubLatents, padForDilation, scatterSubLatents, unpadDilation } from './dilated-sampling.js';
import type { GuidedCondition, UNetRunner } from '../sampling/unet-runner.js';
import { drawWindowPermutations, shuffleWindows, unshuffleWindows } from './window-interaction.js';

export interface DilatedBranchArgs {
  readonly unet: UNetRunner;
  /** Latent x [1, C, H, W]. */
  readonly latents: Tensor;
  /** Dilation factor s (the stage number). */
  readonly scale: number;
  /** Gaussian pre-blur: base std and the cosine-scheduled factor c3 (std = sigma·c3); undefined = no blur. */
  readonly blur?: { readonly sigma: number; readonly c3: number };
  /** The full prompt's condition (crop 0,0), used for every sub-latent. */
  readonly condition: GuidedCondition;
  readonly timestep: number;
  /** Scheduler input divisor for batch b (√(σ²+1) for Euler, 1 for DDIM; see reference-compat.ts). */
  readonly inputDivisor: (batch: number) => number;
  readonly guidance: number;
  readonly guidanceRescale: number;
  readonly viewBatchSize: number;
  /** Window interaction: permutations drawn from this source (undefined = off). */
  readonly shuffle?: Pick<RandomSource, 'randperm'>;
  readonly onBatch?: (batch: number, batches: number) => void;
}

/** Guided noise predictions of the dilated sub-latents, re-assembled to [1, C, H, W]. */
export async function dilatedBranchNoise(a: DilatedBranchArgs): Promise<Tensor> {
  const s = a.scale;
  // 1. pad top/left to multiples of s, 2. blur a copy (the UNet sees the blurred one; spec B5 note)
  const { padded, padTop, padLeft } = padForDilation(a.latents, s);
  const blurred = a.blur ? blurForDilation(padded, s, a.blur.sigma, a.blur.c3) : padded;
  // 3. s² sub-latents [s², C, H/s, W/s]
  const subs = gatherSubLatents(blurred, s);
  const [V, C, h, w] = subs.shape as [number, number, number, number];
  const per = C * h * w;
  const noise = new Float32Array(subs.data.length);
  const batches = Math.ceil(V / a.viewBatchSize);
  for (let b = 0; b < batches; b++) {
    const first = b * a.viewBatchSize;
    const n = Math.min(a.viewBatchSize, V - first);
    let input = tensor([n, C, h, w], subs.data.slice(first * per, (first + n) * per));
    // 4. window interaction: per-element permutation across the n windows of this batch
    const perms = a.shuffle ? drawWindowPermutations(a.shuffle, per, n) : undefined;
    if (perms) input = shuffleWindows(input, perms);
    const divisor = a.inputDivisor(b);
    const scaled = tensor(input.shape, Float32Array.from(input.data, (v) => v / divisor));
    // 5. UNet + CFG with the full prompt
    const { noise: pred } = await a.unet.predict(scaled, a.timestep, new Array<GuidedCondition>(n).fill(a.condition), {
      guidance: a.guidance,
      guidanceRescale: a.guidanceRescale,
    });
    // 6. route every element's prediction back to the window its input came from
    const routed = perms ? unshuffleWindows(pred, perms) : pred;
    noise.set(routed.data, first * per);
    a.onBatch?.(b + 1, batches);
  }
  // 7. scatter back and drop the padding
  return unpadDilation(scatterSubLatents(tensor(subs.shape, noise), s), padTop, padLeft);
}
