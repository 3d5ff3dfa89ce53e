/**
 * The plain text-to-image loop (diffusers StableDiffusion(XL)Pipeline's denoising loop): used for direct
 * inference at any size and for the native-size first pass of DemoFusion/AccDiffusion, optionally
 * recording cross-attention maps for the patch prompts.
 */
import { AbortedError } from '../errors.js';
import type { Scheduler } from '../schedulers/scheduler.js';
import type { Tensor } from '../tensor/tensor.js';
import type { AttentionStore } from '../patch/attention-store.js';
import type { Components } from './components.js';
import type { ProgressCallback } from './events.js';
import type { GuidedCondition, UNetRunner } from './unet-runner.js';
import { assertFinite } from '../patch/upscale-stage.js';

/** What a plain denoising loop over one latent takes, whichever UNet graph runs it. */
export interface DenoiseLoopArgs {
  readonly scheduler: Scheduler;
  /** Initial latents, already multiplied by the scheduler's init_noise_sigma. */
  readonly latents: Tensor;
  readonly condition: GuidedCondition;
  readonly guidance: number;
  readonly guidanceRescale: number;
  /** Called with the latents after every step (diffusers' callback_on_step_end). */
  readonly onStepLatents?: (step: number, latents: Tensor) => void;
  readonly onProgress?: ProgressCallback;
  readonly signal?: AbortSignal;
}

export interface NativePassArgs extends DenoiseLoopArgs {
  readonly stage: number;
  readonly unet: UNetRunner;
  /** Records the captured attention maps of every step. */
  readonly store?: AttentionStore;
}

/**
 * The arguments shared by the baselines that denoise directly at the target size with their own UNet variant
 * (Attn-SF, ScaleCrafter): `latents` are at the target size; the variant comes from `components`.
 */
export interface TargetSizeRunArgs extends DenoiseLoopArgs {
  readonly components: Components;
}

/** Runs every scheduler step and returns the final latents. */
export async function runNativePass(a: NativePassArgs): Promise<Tensor> {
  let x = a.latents;
  const timesteps = a.scheduler.timesteps;
  for (let i = 0; i < timesteps.length; i++) {
    if (a.signal?.aborted) throw new AbortedError(`stopped at stage ${a.stage}, step ${i + 1}`);
    const t = timesteps[i]!;
    const input = a.scheduler.scaleModelInput(x, t, i);
    const pred = await a.unet.predict(input, t, [a.condition], {
      guidance: a.guidance,
      guidanceRescale: a.guidanceRescale,
      ...(a.store ? { captureOutputs: a.store.layers } : {}),
    });
    a.store?.add(pred.attention);
    x = a.scheduler.step(pred.noise, t, x, { stepIndex: i }).prevSample;
    assertFinite(x, `stage ${a.stage}, step ${i + 1}`);
    a.onStepLatents?.(i, x);
    a.onProgress?.({ type: 'window-batch', stage: a.stage, step: i + 1, branch: 'base', batch: 1, batches: 1 });
    a.onProgress?.({ type: 'step', stage: a.stage, step: i + 1, steps: timesteps.length });
  }
  return x;
}
