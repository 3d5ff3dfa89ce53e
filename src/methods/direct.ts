/**
 * Direct inference: diffusers' StableDiffusion(XL)Pipeline loop at the target size, the baseline every
 * other method is measured against. Also the predictor of DemoFusion's and AccDiffusion's native pass.
 */
import type { AttentionStore } from '../patch/attention-store.js';
import type { ResolvedOptions } from '../options/index.js';
import type { GuidedCondition, UNetRunner } from '../sampling/unet-runner.js';
import { denoise, type DenoiseLoopHooks, type NoisePredictor } from '../sampling/denoise-loop.js';
import type { Scheduler } from '../schedulers/scheduler.js';
import type { FirstPassRun, FirstPassResult, GenerationMethod } from './method.js';

/**
 * The diffusers loop body: scale the input for the scheduler, one guided UNet call for the whole latent
 * (CFG with `options.guidance`, guidance_rescale), optionally recording cross-attention into `store`.
 */
export function guidedPredictor(
  unet: UNetRunner, scheduler: Scheduler, condition: GuidedCondition, options: Pick<ResolvedOptions, 'guidance' | 'guidanceRescale'>,
  hooks: DenoiseLoopHooks, store?: AttentionStore,
): NoisePredictor {
  return async (x, i, t) => {
    const input = scheduler.scaleModelInput(x, t, i);
    const pred = await unet.predict(input, t, [condition], {
      guidance: options.guidance,
      guidanceRescale: options.guidanceRescale,
      ...(store ? { captureOutputs: store.layers } : {}),
    });
    store?.add(pred.attention);
    hooks.onProgress?.({ type: 'window-batch', stage: hooks.stage, step: i + 1, branch: 'base', batch: 1, batches: 1 });
    return { noise: pred.noise };
  };
}

/** The first pass's loop from `run.latents` with `predict`, counting the UNet rows `unet` ran meanwhile. */
export async function firstPassLoop(run: FirstPassRun, unet: UNetRunner, predict: NoisePredictor): Promise<FirstPassResult> {
  const before = unet.calls;
  const latents = await denoise(run.scheduler, run.latents, predict, run.hooks);
  return { latents, unetCalls: unet.calls - before };
}

/** The plain guided loop over the whole first-pass latent with the shared UNet. */
export async function plainFirstPass(run: FirstPassRun): Promise<FirstPassResult> {
  const unet = await run.components.plainUNet();
  return firstPassLoop(run, unet, guidedPredictor(unet, run.scheduler, run.condition, run.options, run.hooks));
}

export const direct: GenerationMethod = {
  name: 'direct',
  summary: 'the plain pipeline at the target size: repeats objects above the native size',
  progressive: false,
  windowed: false,
  firstPass: plainFirstPass,
};
