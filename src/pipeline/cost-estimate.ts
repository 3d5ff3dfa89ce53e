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
import { patchPromptLayers } from '../patch/attention-store.js';
import { resolveOptions, type GenerateOptions, type Method } from '../options/index.js';
import { usesNoiseDampedGuidance } from '../methods/scalecrafter.js';
import { reDilationPlan, type ReDilationPlan } from '../methods/scalecrafter-settings.js';
import { planStages } from '../patch/stages.js';
import { numBlocks } from '../patch/views.js';

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
  /** unetCalls in native-size evaluations: a whole-latent pass counts its area over the native area. */
  readonly nativeSizeEvaluations: number;
}

/** A run's UNet work and the memory of its full-size tensors. */
export interface RunCost {
  readonly stages: readonly StageWork[];
  /** UNet rows of the whole run: the report's `unetCalls`. */
  readonly unetCalls: number;
  /** UNet rows of one step of every stage. */
  readonly unetCallsPerStep: number;
  /** The run's UNet work in native-size evaluations (the unit a UNet's speed is measured in). */
  readonly nativeSizeEvaluations: number;
  /** Bytes of the decoded image and the full-size latents. */
  readonly memoryBytes: number;
}

/** getViews(...).views.length without building the views (a 65536² plan has millions): a window wider than the extent shrinks to it. */
export function viewCount(height: number, width: number, window: number, stride: number): number {
  return numBlocks(height, Math.min(window, height), stride) * numBlocks(width, Math.min(window, width), stride);
}

/** mdViews(...).views.length: the attention grid (latent cells when not aligned to it), window base/cell, stride half of it. */
export function mdViewCount(latentHeight: number, latentWidth: number, baseLatent: number, attentionCell: number): number {
  const aligned = latentHeight % attentionCell === 0 && latentWidth % attentionCell === 0 && baseLatent % attentionCell === 0;
  const cell = aligned ? attentionCell : 1;
  const window = baseLatent / cell;
  return viewCount(latentHeight / cell, latentWidth / cell, window, window / 2);
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
  const windowsOver = (h: number, w: number): number => viewCount(h, w, B, p.stride);
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
  const area1 = windows1 > 0 ? 1 : (first.latentHeight * first.latentWidth) / (B * B);
  const stages: StageWork[] = [{ stage: 1, width: first.width, height: first.height, steps: steps1, unetCalls: calls1, windowsPerStep: windows1, nativeSizeEvaluations: calls1 * area1 }];
  let perStep = steps1 > 0 ? calls1 / steps1 : rows1;
  for (const st of progressive ? plan.stages : []) {
    const windows = p.method === 'accdiffusion' && p.patchPromptCell !== undefined
      ? mdViewCount(st.latentHeight, st.latentWidth, B, p.patchPromptCell)
      : windowsOver(st.latentHeight, st.latentWidth);
    const perStage = windows + st.scale * st.scale;
    const calls = p.steps * k * perStage;
    stages.push({ stage: st.scale, width: st.width, height: st.height, steps: p.steps, unetCalls: calls, windowsPerStep: perStage, nativeSizeEvaluations: calls });
    perStep += k * perStage;
  }
  const sum = (key: 'unetCalls' | 'nativeSizeEvaluations'): number => stages.reduce((a, s) => a + s[key], 0);
  return { stages, unetCalls: sum('unetCalls'), unetCallsPerStep: perStep, nativeSizeEvaluations: sum('nativeSizeEvaluations'), memoryBytes: fullSizeMemoryBytes(p.width, p.height) };
}

/** Bytes of a run's full-size tensors at width × height pixels (see the file header). */
export function fullSizeMemoryBytes(width: number, height: number): number {
  return width * height * (12 + 3) + 12 * 4 * 4 * (width / 8) * (height / 8);
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
