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
import { AbortedError } from '../errors.js';
import type { Feed } from '../engine/session.js';
import { tensor, type Tensor } from '../tensor/tensor.js';
import { rescaleNoiseCfg } from '../sampling/guidance.js';
import { runNativePass, type TargetSizeRunArgs } from '../pipeline/native-pass.js';
import { dilationAt, reDilationPlan, type ReDilationPlan } from './scalecrafter-settings.js';
import { assertFinite } from '../patch/upscale-stage.js';

export interface ScaleCrafterArgs extends TargetSizeRunArgs {
  /** Overrides the plan from the settings (tests). */
  readonly plan?: ReDilationPlan;
}

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

/**
 * Denoises at the target size with re-dilation; returns the latents, the UNet rows run and the plan used.
 * Unlike the reference loop, a plan whose ndcfg_tau exceeds dilate_tau gets no ND-CFG past dilate_tau
 * (the published configs never do that; see scalecrafter-settings.ts).
 */
export async function runScaleCrafter(a: ScaleCrafterArgs): Promise<{ latents: Tensor; unetCalls: number; plan: ReDilationPlan }> {
  const [, , h, w] = a.latents.shape as [number, number, number, number];
  const timesteps = a.scheduler.timesteps;
  const plan = a.plan ?? reDilationPlan(a.components.unetModel, h, w, a.components.folder.nativeLatentSize, timesteps.length);
  const paths = [...new Set([...plan.dilations.keys(), ...plan.ndcfgDilations.keys()])].sort();
  const pass = { stage: 1, scheduler: a.scheduler, condition: a.condition, guidance: a.guidance, guidanceRescale: a.guidanceRescale, ...(a.onStepLatents ? { onStepLatents: a.onStepLatents } : {}), ...(a.onProgress ? { onProgress: a.onProgress } : {}), ...(a.signal ? { signal: a.signal } : {}) };
  if (paths.length === 0 || (plan.dilateSteps === 0 && plan.ndcfgSteps === 0)) {
    // Nothing re-dilated (target not larger than native): exactly the plain loop.
    const unet = await a.components.plainUNet();
    const before = unet.calls;
    const latents = await runNativePass({ ...pass, unet, latents: a.latents });
    return { latents, unetCalls: unet.calls - before, plan };
  }
  const unet = await a.components.variantUNet({ redilate: paths });
  try {
    let x = a.latents;
    for (let i = 0; i < timesteps.length; i++) {
      if (a.signal?.aborted) throw new AbortedError(`stopped at stage 1, step ${i + 1}`);
      const t = timesteps[i]!;
      const input = a.scheduler.scaleModelInput(x, t, i);
      const main = { conv_dilation: dilationFeed(paths, plan.dilations, i, plan.dilateSteps, plan.progressive) };
      let noise: Tensor;
      // ND-CFG needs an unconditional term: without CFG (guidance <= 1) every step is the plain dilated call
      if (a.condition.negative && usesNoiseDampedGuidance(plan, i)) {
        const dilated = await unet.predict(input, t, [a.condition], { guidance: a.guidance, feeds: main });
        const damped = { conv_dilation: dampedDilationFeed(paths, plan, i) };
        // guidance 0 gives the unconditional half exactly
        const vanilla = await unet.predict(input, t, [a.condition], { guidance: 0, feeds: damped });
        noise = noiseDampedGuidance(dilated.raw, vanilla.noise, a.guidance, a.guidanceRescale);
      } else {
        noise = (await unet.predict(input, t, [a.condition], { guidance: a.guidance, guidanceRescale: a.guidanceRescale, feeds: main })).noise;
      }
      x = a.scheduler.step(noise, t, x, { stepIndex: i }).prevSample;
      assertFinite(x, `stage 1, step ${i + 1}`);
      a.onStepLatents?.(i, x);
      a.onProgress?.({ type: 'window-batch', stage: 1, step: i + 1, branch: 'base', batch: 1, batches: 1 });
      a.onProgress?.({ type: 'step', stage: 1, step: i + 1, steps: timesteps.length });
    }
    return { latents: x, unetCalls: unet.calls, plan };
  } finally {
    await unet.release();
  }
}
