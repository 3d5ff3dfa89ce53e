/**
 * Stage 1 of every method: the initial latents (pure noise, the caller's `initLatents`, or the user's image
 * encoded and noised for img2img), then the method's first pass (src/methods/), then the first pass's
 * statistics that later stages are re-standardised to. A resumed run takes stage 1 from its checkpoint.
 */
import { OptionsError } from '../errors.js';
import { mean, std } from '../tensor/ops.js';
import { tensor, type Tensor } from '../tensor/tensor.js';
import { firstPassStart } from '../sampling/img2img-input.js';
import { img2imgTimesteps } from '../sampling/img2img-start.js';
import type { Scheduler } from '../schedulers/scheduler.js';
import { now, type GenerationRun } from './generation-run.js';

/** Runs (or resumes) stage 1 and records its latents, image, report and checkpoint in `run`. */
export async function runFirstPass(run: GenerationRun): Promise<void> {
  const { options: o, firstSize } = run;
  if (run.done >= 1) {
    const latents = run.resumed!.latents(1);
    run.stages.push({ stage: 1, image: (await run.decode(1, latents)).image, latents });
    return;
  }
  const tStage = now();
  const steps = run.image ? img2imgTimesteps(o.steps, o.strength).initTimestepCount : o.steps;
  run.emit({ type: 'stage-start', stage: 1, stages: run.stageCount, width: firstSize.width, height: firstSize.height, steps });
  const { latents: init, scheduler } = await initialLatents(run);
  const result = await run.method.firstPass({
    components: run.components, options: o, scheduler, latents: init, condition: run.fullCondition, conditions: run.conditions,
    random: run.random, upscaleStages: run.upscaleStages, hooks: run.loopHooks(1),
  });
  for (const [scale, windows] of result.stageWindows ?? []) run.stageWindows.set(scale, windows);
  if (result.masks) run.masks = result.masks;
  const latents = result.latents;
  const denoise = now() - tStage;
  run.anchorMean = mean(latents);
  run.anchorStd = std(latents);
  const decoded = await run.decode(1, latents);
  run.stages.push({ stage: 1, image: decoded.image, latents });
  run.stageReports.push({ stage: 1, width: firstSize.width, height: firstSize.height, seconds: { denoise, decode: decoded.seconds }, unetCalls: result.unetCalls });
  run.checkpoint(1, latents);
  run.emit({ type: 'stage-end', stage: 1, seconds: now() - tStage });
}

/**
 * The first pass's start [1, C, h, w] and the schedule it runs: img2img's noised encoding of the user's
 * image on the schedule from `strength` on (no init_noise_sigma), or noise / the caller's initLatents times
 * init_noise_sigma on the whole schedule. Throws OptionsError for initLatents of the wrong shape.
 */
async function initialLatents(run: GenerationRun): Promise<{ latents: Tensor; scheduler: Scheduler }> {
  const { options: o, firstSize, scheduler, random } = run;
  if (run.image) {
    const signal = run.ctx.signal;
    const start = await firstPassStart({
      components: run.components, image: run.image, width: firstSize.width, height: firstSize.height, strength: o.strength, scheduler,
      random: random.latents, ...(signal ? { signal } : {}),
    });
    run.img2img = { encodedLatents: start.encodedLatents, noisyLatents: start.noisyLatents, stepsRun: start.stepsRun };
    return { latents: start.noisyLatents, scheduler: start.scheduler };
  }
  const shape = [1, run.components.vaeConfig.latent_channels, firstSize.latentHeight, firstSize.latentWidth];
  let init: Tensor;
  if (o.initLatents) {
    const sh = o.initLatents.shape;
    if (sh.length !== 4 || sh.some((d, i) => d !== shape[i])) throw new OptionsError(`initial latents have shape [${sh}], this run needs [${shape}]`);
    init = o.initLatents;
  } else {
    init = random.latents.randn(shape);
  }
  return { latents: tensor(init.shape, Float32Array.from(init.data, (v) => v * scheduler.initNoiseSigma)), scheduler };
}
