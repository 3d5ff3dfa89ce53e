/**
 * Stages 2.. of the progressive methods (DemoFusion, AccDiffusion): each upsamples the previous stage's
 * latents (or, upscaling with inputResidual, encodes the user's image at the stage's size), runs the shared
 * upscaling stage (src/patch/upscale-stage.ts) with the method's patch windows, and re-standardises the
 * result to the first pass's statistics. Resumed stages come from their checkpoints.
 */
import { interpolateBicubic, restandardize } from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';
import { encodeInputLatents } from '../sampling/img2img-input.js';
import { assertFinite } from '../sampling/denoise-loop.js';
import { runUpscaleStage } from '../patch/upscale-stage.js';
import type { StageSize } from '../patch/stages.js';
import { now, type GenerationRun } from './generation-run.js';
import type { Window } from './result.js';
import type { UNetRunner } from '../sampling/unet-runner.js';

/** Runs every upscaling stage of `run` in order. */
export async function runUpscaleStages(run: GenerationRun): Promise<void> {
  if (!run.upscaleStages.length) return;
  const unet = await run.components.plainUNet();
  let latents = run.stages[run.stages.length - 1]!.latents;
  for (const size of run.upscaleStages) latents = await runStage(run, size, unet, latents);
}

/** One stage from the previous stage's latents; returns this stage's latents. */
async function runStage(run: GenerationRun, size: StageSize, unet: UNetRunner, previous: Tensor): Promise<Tensor> {
  const { options: o, ctx } = run;
  const sw = run.stageWindows.get(size.scale);
  const windows: Window[] | undefined = sw?.views.map((v) => ({ top: v.hStart - sw.padding, left: v.wStart - sw.padding, height: v.hEnd - v.hStart, width: v.wEnd - v.wStart }));
  const windowInfo = sw ? { windows: windows!, windowPrompts: [...sw.prompts] } : {};
  if (size.scale <= run.done) {
    const latents = run.resumed!.latents(size.scale);
    run.stages.push({ stage: size.scale, image: (await run.decode(size.scale, latents)).image, latents, ...windowInfo });
    return latents;
  }
  const tStage = now();
  run.emit({ type: 'stage-start', stage: size.scale, stages: run.stageCount, width: size.width, height: size.height, steps: o.steps });
  const callsBefore = unet.calls;
  // upscale with inputResidual: a stage no larger than the input takes the input's own encoding (docs/upscale.md §3.1)
  const image = run.image;
  const fromInput = image && o.inputResidual && image.width >= size.width && image.height >= size.height;
  const upsampled = fromInput
    ? await encodeInputLatents(run.components, image, size.width, size.height, ctx.signal)
    : interpolateBicubic(previous, size.latentHeight, size.latentWidth);
  const patchWindows = run.method.stagePatchWindows!({ components: run.components, options: o, size, conditions: run.conditions, random: run.random, ...(sw ? { windows: sw } : {}) });
  const x = await runUpscaleStage({
    ...run.loopHooks(size.scale), unet, scheduler: run.scheduler, upsampled, random: run.random.global, patchWindows,
    dilated: { scale: size.scale, condition: run.fullCondition, sigma: o.sigma, shuffle: o.windowInteraction },
    skipResidual: true, cosineScale1: o.cosineScale1, cosineScale2: o.cosineScale2, cosineScale3: o.cosineScale3,
    guidance: o.guidance, multiGuidance: o.multiGuidance, guidanceRescale: o.guidanceRescale, viewBatchSize: o.viewBatchSize,
    referenceCompat: o.referenceCompat,
  });
  // re-standardise to the first pass's statistics
  const latents = restandardize(x, run.anchorMean, run.anchorStd);
  assertFinite(latents, `stage ${size.scale}`);
  const denoise = now() - tStage;
  const d = await run.decode(size.scale, latents);
  run.stages.push({ stage: size.scale, image: d.image, latents, ...windowInfo });
  run.stageReports.push({ stage: size.scale, width: size.width, height: size.height, seconds: { denoise, decode: d.seconds }, unetCalls: unet.calls - callsBefore, ...windowInfo });
  run.checkpoint(size.scale, latents);
  run.emit({ type: 'stage-end', stage: size.scale, seconds: now() - tStage });
  return latents;
}
