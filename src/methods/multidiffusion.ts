/**
 * MultiDiffusion (Bar-Tal et al., ICML 2023, §3.2): native-size windows over the target latent, every
 * window with the same prompt; the guided predictions are averaged per latent cell (the patch branch,
 * src/patch/patch-branch.ts) and the scheduler steps once. Windows are fixed: stride `options.stride`
 * latent cells, no jitter.
 */
import { guidedConditions } from '../prompts/conditions.js';
import { patchBranchNoise } from '../patch/patch-branch.js';
import { getViews, viewCount } from '../patch/views.js';
import type { NoisePredictor } from '../sampling/denoise-loop.js';
import { firstPassLoop } from './direct.js';
import type { FirstPassRun, FirstPassResult, GenerationMethod } from './method.js';

async function firstPass(run: FirstPassRun): Promise<FirstPassResult> {
  const { components, options: o, scheduler, hooks } = run;
  const unet = await components.plainUNet();
  const [, , H, W] = run.latents.shape as [number, number, number, number];
  const f = components.folder.vaeScaleFactor;
  const { views } = getViews({ height: H, width: W, window: components.folder.nativeLatentSize, stride: o.stride });
  const conditions = await guidedConditions(run.conditions, views.map(() => o.prompt), views.map((v) => [v.hStart * f, v.wStart * f]));
  const predict: NoisePredictor = async (x, i, t) => {
    const d = scheduler.inputDivisor(i);
    const noise = await patchBranchNoise({
      unet, latents: x, views, padding: { height: 0, width: 0 }, conditions, timestep: t, inputDivisor: () => d,
      guidance: o.guidance, guidanceRescale: o.guidanceRescale, viewBatchSize: o.viewBatchSize,
      onBatch: (batch, batches) => hooks.onProgress?.({ type: 'window-batch', stage: hooks.stage, step: i + 1, branch: 'patch', batch, batches }),
    });
    return { noise };
  };
  return firstPassLoop(run, unet, predict);
}

export const multidiffusion: GenerationMethod = {
  name: 'multidiffusion',
  summary: 'overlapping native-size windows over the target, same prompt everywhere, averaged (Bar-Tal et al. 2023)',
  progressive: false,
  windowed: true,
  firstPass,
  firstPassWork: (q) => {
    const windows = viewCount(q.latentHeight, q.latentWidth, q.plan.nativeLatentSize, q.plan.stride);
    return { unetCalls: q.steps * q.rows * windows, windowsPerStep: windows };
  },
};
