/**
 * ScaleCrafter baseline (He et al., ICLR 2024, arXiv 2310.07702): direct inference at the target size
 * where, during the first (high-noise) steps, chosen UNet convs run re-dilated (§3.2), and noise-damped
 * classifier-free guidance (§3.3) takes the unconditional term from a less dilated model:
 *   ε̂ = ε_u^vanilla + w·(ε_c^dilated − ε_u^dilated)
 * as in the authors' text2image.py (noise_pred_vanilla's unconditional half + guidance_scale ×
 * (text − uncond) of the dilated call; guidance_rescale then uses the dilated conditional). Which convs,
 * by how much and for how many steps: scalecrafter-settings.ts. One UNet graph reads every conv's
 * dilation per call (models/redilated-conv.ts), so switching costs no second copy of the weights.
 */
import type { Feed } from '../engine/session.js';
import type { GuidedCondition, UNetRunner } from '../sampling/unet-runner.js';
import { rescaleNoiseCfg } from '../sampling/guidance.js';
import type { DenoiseLoopHooks, NoisePredictor } from '../sampling/denoise-loop.js';
import type { Scheduler } from '../schedulers/scheduler.js';
import { tensor, type Tensor } from '../tensor/tensor.js';
import { firstPassLoop, plainFirstPass } from './direct.js';
import type { FirstPassResult, FirstPassRun, GenerationMethod } from './method.js';
import { dilationAt, reDilationPlan, type ReDilationPlan } from './scalecrafter-settings.js';

/** The conv_dilation feed for step i: each listed conv's dilation under `dilations` (1 where absent). */
export function dilationFeed(paths: readonly string[], dilations: ReadonlyMap<string, number>, i: number, tau: number, progressive: boolean): Feed {
  const data = BigInt64Array.from(paths, (p) => BigInt(dilationAt(dilations.get(p) ?? 1, i, tau, progressive)));
  return { data, shape: [paths.length] };
}

/** Whether step i uses noise-damped CFG: only while the main prediction is itself re-dilated (§3.3). */
export function usesNoiseDampedGuidance(plan: ReDilationPlan, i: number): boolean {
  return i < Math.min(plan.ndcfgSteps, plan.dilateSteps);
}

/**
 * The damped (unconditional) model's conv_dilation feed for step i: its own ramp, but at no conv more
 * dilated than the main model at that step, since ND-CFG takes the unconditional term from the model
 * with the stronger denoising (the less dilated one).
 */
export function dampedDilationFeed(paths: readonly string[], plan: ReDilationPlan, i: number): Feed {
  const data = BigInt64Array.from(paths, (p) => {
    const damped = dilationAt(plan.ndcfgDilations.get(p) ?? 1, i, plan.ndcfgSteps, plan.progressive);
    const main = dilationAt(plan.dilations.get(p) ?? 1, i, plan.dilateSteps, plan.progressive);
    return BigInt(Math.min(damped, main));
  });
  return { data, shape: [paths.length] };
}

/**
 * ND-CFG: u_vanilla + w·(c − u) per element, then diffusers' guidance_rescale against c (torch.std is
 * unbiased). `raw` is the dilated call's [uncond, cond] pair, `vanillaUncond` the other call's uncond.
 */
export function noiseDampedGuidance(raw: Tensor, vanillaUncond: Tensor, w: number, rescale: number): Tensor {
  const per = vanillaUncond.data.length;
  const u = raw.data.subarray(0, per);
  const c = raw.data.subarray(per, 2 * per);
  const out = tensor([...vanillaUncond.shape]);
  for (let i = 0; i < per; i++) out.data[i] = vanillaUncond.data[i]! + w * (c[i]! - u[i]!);
  if (rescale > 0) rescaleNoiseCfg(out.data, c, rescale);
  return out;
}

/** One step of ScaleCrafter: the re-dilated call, with ND-CFG while the plan asks for it. */
function reDilatedPredictor(
  unet: UNetRunner, scheduler: Scheduler, condition: GuidedCondition, o: { guidance: number; guidanceRescale: number },
  plan: ReDilationPlan, paths: readonly string[], hooks: DenoiseLoopHooks,
): NoisePredictor {
  return async (x, i, t) => {
    const input = scheduler.scaleModelInput(x, t, i);
    const main = { conv_dilation: dilationFeed(paths, plan.dilations, i, plan.dilateSteps, plan.progressive) };
    let noise: Tensor;
    // ND-CFG needs an unconditional term: without CFG (guidance <= 1) every step is the plain dilated call
    if (condition.negative && usesNoiseDampedGuidance(plan, i)) {
      const dilated = await unet.predict(input, t, [condition], { guidance: o.guidance, feeds: main });
      const damped = { conv_dilation: dampedDilationFeed(paths, plan, i) };
      // guidance 0 gives the unconditional half exactly
      const vanilla = await unet.predict(input, t, [condition], { guidance: 0, feeds: damped });
      noise = noiseDampedGuidance(dilated.raw, vanilla.noise, o.guidance, o.guidanceRescale);
    } else {
      noise = (await unet.predict(input, t, [condition], { guidance: o.guidance, guidanceRescale: o.guidanceRescale, feeds: main })).noise;
    }
    hooks.onProgress?.({ type: 'window-batch', stage: hooks.stage, step: i + 1, branch: 'base', batch: 1, batches: 1 });
    return { noise };
  };
}

/**
 * Denoises at the target size with re-dilation, as reDilationPlan (scalecrafter-settings.ts) plans it.
 * Unlike the reference loop, a plan whose ndcfg_tau exceeds dilate_tau gets no ND-CFG past dilate_tau
 * (the published configs never do that; see scalecrafter-settings.ts).
 */
async function firstPass(run: FirstPassRun): Promise<FirstPassResult> {
  const [, , h, w] = run.latents.shape as [number, number, number, number];
  const plan = reDilationPlan(run.components.unetModel, h, w, run.components.folder.nativeLatentSize, run.scheduler.timesteps.length);
  const paths = [...new Set([...plan.dilations.keys(), ...plan.ndcfgDilations.keys()])].sort();
  if (!reDilates(plan)) {
    // Nothing re-dilated (target not larger than native): exactly the plain loop.
    return plainFirstPass(run);
  }
  const unet = await run.components.variantUNet({ redilate: paths });
  try {
    const predict = reDilatedPredictor(unet, run.scheduler, run.condition, run.options, plan, paths, run.hooks);
    return await firstPassLoop(run, unet, predict);
  } finally {
    await unet.release();
  }
}

/** Whether the plan re-dilates anything (else the run is exactly the plain loop). */
function reDilates(plan: ReDilationPlan): boolean {
  return plan.dilations.size + plan.ndcfgDilations.size > 0 && (plan.dilateSteps > 0 || plan.ndcfgSteps > 0);
}

export const scalecrafter: GenerationMethod = {
  name: 'scalecrafter',
  summary: 'direct inference with re-dilated convolutions early and noise-damped guidance (He et al. 2024)',
  progressive: false,
  windowed: false,
  firstPass,
  // the plain rows, plus the unconditional rows of noise-damped CFG on the steps that use it
  firstPassWork: (q) => {
    const plan = q.plan.scaleCrafterPlan;
    let extra = 0;
    if (plan && reDilates(plan) && q.rows === 2) for (let i = 0; i < q.steps; i++) if (usesNoiseDampedGuidance(plan, i)) extra += q.rows;
    return { unetCalls: q.steps * q.rows + extra, windowsPerStep: 0 };
  },
  workFacts: (components, o, firstPassSteps) => {
    const f = components.folder.vaeScaleFactor;
    return { scaleCrafterPlan: reDilationPlan(components.unetModel, o.height / f, o.width / f, components.folder.nativeLatentSize, firstPassSteps) };
  },
};
