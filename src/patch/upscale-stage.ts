/**
 * One progressive-upscaling stage of DemoFusion / AccDiffusion (spec §1.3, §6): forward-noise the
 * upsampled latent once, then per step blend in the skip residual, run the patch branch and the dilated
 * branch, merge their noise predictions with the cosine weight and take one scheduler step.
 */
import type { Scheduler } from '../schedulers/scheduler.js';
import type { RandomSource } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { denoise, type NoisePrediction } from '../sampling/denoise-loop.js';
import { cosineFactor, skipResidual } from './skip-residual.js';
import { dilatedBranchNoise } from './dilated-branch.js';
import { blurFactor } from './dilated-sampling.js';
import type { ProgressCallback } from '../events.js';
import { patchBranchNoise } from './patch-branch.js';
import { branchDivisors } from './reference-compat.js';
import type { GuidedCondition, UNetRunner } from '../sampling/unet-runner.js';
import type { View } from './views.js';

/** Windows of the patch branch at one step, with their conditions. */
export interface PatchWindows {
  readonly views: readonly View[];
  readonly padding: { readonly height: number; readonly width: number };
  readonly conditions: readonly GuidedCondition[];
}

export interface StageArgs {
  readonly stage: number;
  readonly unet: UNetRunner;
  readonly scheduler: Scheduler;
  /** The upsampled latent z̃ [1, C, h, w]. */
  readonly upsampled: Tensor;
  /** Source of the stage noise and the window-interaction permutations. */
  readonly random: RandomSource;
  /** Patch windows for step i (fixed per stage in AccDiffusion, re-jittered per step in DemoFusion); undefined = no patch branch. */
  readonly patchWindows?: (step: number) => Promise<PatchWindows>;
  /** Dilated branch settings; undefined = no dilated branch. */
  readonly dilated?: { readonly scale: number; readonly condition: GuidedCondition; readonly sigma?: number; readonly shuffle: boolean };
  readonly skipResidual: boolean;
  readonly cosineScale1: number;
  readonly cosineScale2: number;
  readonly cosineScale3: number;
  readonly guidance: number;
  readonly multiGuidance: number;
  readonly guidanceRescale: number;
  readonly viewBatchSize: number;
  readonly referenceCompat: boolean;
  readonly onProgress?: ProgressCallback;
  /** Called with the latents after every step. */
  readonly onStepLatents?: (step: number, latents: Tensor) => void;
  readonly signal?: AbortSignal;
}

/** Runs all steps of one stage and returns its final latent (before re-standardisation). */
export async function runUpscaleStage(a: StageArgs): Promise<Tensor> {
  const { scheduler } = a;
  const timesteps = scheduler.timesteps;
  // 1. one noise draw per stage: n_i = add_noise(z̃, ε, t_i)
  const noise = a.random.randn(a.upsampled.shape);
  const noised = (i: number): Tensor => scheduler.addNoise(a.upsampled, noise, timesteps[i]!);
  const hooks = { stage: a.stage, ...(a.signal ? { signal: a.signal } : {}), ...(a.onProgress ? { onProgress: a.onProgress } : {}), ...(a.onStepLatents ? { onStepLatents: a.onStepLatents } : {}) };
  return denoise(scheduler, noised(0), (x, i, t) => stageNoise(a, x, i, t, noised), hooks);
}

/** One step's noise: skip residual, patch branch, dilated branch, cosine-weighted merge. */
async function stageNoise(a: StageArgs, latents: Tensor, i: number, t: number, noised: (i: number) => Tensor): Promise<NoisePrediction> {
  const cf = cosineFactor(t, a.scheduler.alphasCumprod.length);
  // 2. skip residual
  const x = a.skipResidual && i > 0 ? skipResidual(latents, noised(i), cf ** a.cosineScale1) : latents;
  const divisors = branchDivisors(a.scheduler, i, a.referenceCompat);
  const emitBatch = (branch: 'patch' | 'dilated') => (batch: number, batches: number) =>
    a.onProgress?.({ type: 'window-batch', stage: a.stage, step: i + 1, branch, batch, batches });
  // 3. patch branch: per-cell mean of the windows' guided predictions
  let patch: Tensor | undefined;
  if (a.patchWindows) {
    const w = await a.patchWindows(i);
    patch = await patchBranchNoise({
      unet: a.unet, latents: x, views: w.views, padding: w.padding, conditions: w.conditions, timestep: t,
      inputDivisor: divisors.patch, guidance: a.multiGuidance, guidanceRescale: a.guidanceRescale,
      viewBatchSize: a.viewBatchSize, onBatch: emitBatch('patch'),
    });
  }
  // 4. dilated branch (global), with blur and window interaction
  let dilated: Tensor | undefined;
  if (a.dilated) {
    const c3 = blurFactor(cf, a.cosineScale3);
    dilated = await dilatedBranchNoise({
      unet: a.unet, latents: x, scale: a.dilated.scale, condition: a.dilated.condition, timestep: t,
      ...(a.dilated.sigma !== undefined ? { blur: { sigma: a.dilated.sigma, c3 } } : {}),
      inputDivisor: divisors.dilated, guidance: a.guidance, guidanceRescale: a.guidanceRescale,
      viewBatchSize: a.viewBatchSize, ...(a.dilated.shuffle ? { shuffle: a.random } : {}), onBatch: emitBatch('dilated'),
    });
  }
  // 5. merge: x_next = (1 − c2)·step(x, ε_patch) + c2·step(x, ε_dilated) = step(x, (1 − c2)·ε_patch + c2·ε_dilated)
  if (!patch || !dilated) return { noise: (patch ?? dilated)!, sample: x };
  const c2 = cf ** a.cosineScale2;
  const merged = new Float32Array(patch.data.length);
  for (let k = 0; k < merged.length; k++) merged[k] = (1 - c2) * patch.data[k]! + c2 * dilated.data[k]!;
  return { noise: { data: merged, shape: patch.shape }, sample: x };
}
