/**
 * How much UNet work a generation does, counted before it runs: the same stages (stages.ts planStages), windows
 * (views.ts getViews / mdViews) and dilated samples (s² per step at stage s, spec §3.4) the methods then run,
 * in UNet rows, so the estimate equals the report's `unetCalls` (UNetRunner counts rows; CFG runs two per
 * sample). Per method:
 * - direct, attn-sf: steps × rows at the target size; scalecrafter likewise, plus the unconditional rows of
 *   noise-damped CFG on the steps that use it (scalecrafter.ts usesNoiseDampedGuidance);
 * - multidiffusion: steps × windows over the target;
 * - demofusion, accdiffusion: a native-size first pass, then per stage s = 2..S steps × (windows + s²).
 * The memory estimate counts the full-size tensors: float32 pixels (12 B/px), the 8-bit image (3 B/px) and about
 * 12 latent copies (4 channels × 4 B per 8×8 pixels each).
 */
import type { Components } from '../loading/components.js';
import { createScheduler } from '../schedulers/index.js';
import { img2imgTimesteps } from '../sampling/img2img-start.js';
import { patchPromptLayers } from './attention-store.js';
import { resolveOptions, type GenerateOptions, type Method } from './options.js';
import { usesNoiseDampedGuidance } from './scalecrafter.js';
import { reDilationPlan, type ReDilationPlan } from './scalecrafter-settings.js';
import { planStages } from './stages.js';
import { getViews, mdViews } from './views.js';

/** What the count needs to know about a run (pixels for sizes, latent cells for stride and native size). */
export interface UNetWorkPlan {
  readonly method: Method;
  readonly width: number;
  readonly height: number;
  /** UNet `sample_size` (latent cells). */
  readonly nativeLatentSize: number;
  readonly vaeScaleFactor: number;
  /** Timesteps of every full stage (the scheduler's `timesteps.length`). */
  readonly steps: number;
  /** Timesteps of the first pass, when fewer (img2img's strength); default `steps`. */
  readonly firstPassSteps?: number;
  /** Guidance scale > 1: every sample is evaluated with and without the prompt. */
  readonly classifierFreeGuidance: boolean;
  /** Patch window stride (latent cells) of multidiffusion and demofusion windows, and accdiffusion's without patch prompts. */
  readonly stride: number;
  /** accdiffusion with patch prompts: windows on the cross-attention grid (mdViews) of this many latent cells. */
  readonly patchPromptCell?: number;
  /** scalecrafter: the re-dilation plan of the run (its noise-damped CFG steps add rows). */
  readonly scaleCrafterPlan?: ReDilationPlan;
}

/** The work of one stage. */
export interface StageWork {
  /** 1 for the first pass, then the stage number s. */
  readonly stage: number;
  readonly width: number;
  readonly height: number;
  readonly steps: number;
  /** UNet rows over all steps of the stage. */
  readonly unetCalls: number;
  /** Native-size windows per step (patch windows and dilated samples), 0 for a whole-latent pass. */
  readonly windowsPerStep: number;
}

/** A run's UNet work and the memory of its full-size tensors. */
export interface RunCost {
  readonly stages: readonly StageWork[];
  /** UNet rows of the whole run: the report's `unetCalls`. */
  readonly unetCalls: number;
  /** UNet rows of one step of every stage. */
  readonly unetCallsPerStep: number;
  /** Bytes of the decoded image and the full-size latents. */
  readonly memoryBytes: number;
}

/** Counts the UNet rows of a run (see the file header). */
export function countUNetWork(p: UNetWorkPlan): RunCost {
  const f = p.vaeScaleFactor;
  const k = p.classifierFreeGuidance ? 2 : 1;
  const B = p.nativeLatentSize;
  const steps1 = p.firstPassSteps ?? p.steps;
  const progressive = p.method === 'accdiffusion' || p.method === 'demofusion';
  const plan = planStages({ height: p.height, width: p.width, baseLatent: B, vaeScaleFactor: f });
  const first = progressive ? plan.phase1 : { scale: 1, latentHeight: p.height / f, latentWidth: p.width / f, height: p.height, width: p.width };
  const windowsOver = (h: number, w: number): number => getViews({ height: h, width: w, window: B, stride: p.stride }).views.length;
  let rows1 = k;
  let windows1 = 0;
  if (p.method === 'multidiffusion') {
    windows1 = windowsOver(first.latentHeight, first.latentWidth);
    rows1 = k * windows1;
  }
  let calls1 = steps1 * rows1;
  const sc = p.method === 'scalecrafter' ? p.scaleCrafterPlan : undefined;
  // runScaleCrafter runs the plain loop when nothing is re-dilated
  const redilated = sc !== undefined && sc.dilations.size + sc.ndcfgDilations.size > 0 && (sc.dilateSteps > 0 || sc.ndcfgSteps > 0);
  if (sc && redilated && p.classifierFreeGuidance) {
    for (let i = 0; i < steps1; i++) if (usesNoiseDampedGuidance(sc, i)) calls1 += k;
  }
  const stages: StageWork[] = [{ stage: 1, width: first.width, height: first.height, steps: steps1, unetCalls: calls1, windowsPerStep: windows1 }];
  let perStep = steps1 > 0 ? calls1 / steps1 : rows1;
  for (const st of progressive ? plan.stages : []) {
    const windows = p.method === 'accdiffusion' && p.patchPromptCell !== undefined
      ? mdViews({ latentHeight: st.latentHeight, latentWidth: st.latentWidth, baseLatent: B, attentionCell: p.patchPromptCell }).views.length
      : windowsOver(st.latentHeight, st.latentWidth);
    const perStage = windows + st.scale * st.scale;
    stages.push({ stage: st.scale, width: st.width, height: st.height, steps: p.steps, unetCalls: p.steps * k * perStage, windowsPerStep: perStage });
    perStep += k * perStage;
  }
  const memoryBytes = p.width * p.height * (12 + 3) + 12 * 4 * 4 * (p.width / 8) * (p.height / 8);
  return { stages, unetCalls: stages.reduce((a, s) => a + s.unetCalls, 0), unetCallsPerStep: perStep, memoryBytes };
}

/**
 * The UNet work `generate(components, options)` would do, from the loaded model: its scheduler's real
 * timestep count, its cross-attention grid (patch prompts) and its ScaleCrafter re-dilation plan.
 * @throws OptionsError for options generate would refuse.
 */
export function estimateRunCost(components: Components, options: GenerateOptions): RunCost {
  const folder = components.folder;
  const o = resolveOptions(options, folder.nativeLatentSize);
  const scheduler = createScheduler(components.schedulerConfig, o.scheduler);
  scheduler.setTimesteps(o.steps);
  const steps = scheduler.timesteps.length;
  const firstPassSteps = options.image ? img2imgTimesteps(o.steps, o.strength).initTimestepCount : steps;
  const f = folder.vaeScaleFactor;
  const patchPromptCell = o.method === 'accdiffusion' && o.patchPrompts ? patchPromptLayers(components.crossAttentionLayers)[0]!.downsampleFactor : undefined;
  const scaleCrafterPlan = o.method === 'scalecrafter'
    ? reDilationPlan(components.unetModel, o.height / f, o.width / f, folder.nativeLatentSize, firstPassSteps)
    : undefined;
  return countUNetWork({
    method: o.method, width: o.width, height: o.height, nativeLatentSize: folder.nativeLatentSize, vaeScaleFactor: f,
    steps, firstPassSteps, classifierFreeGuidance: o.guidance > 1, stride: o.stride,
    ...(patchPromptCell !== undefined ? { patchPromptCell } : {}),
    ...(scaleCrafterPlan ? { scaleCrafterPlan } : {}),
  });
}
