/**
 * How much UNet work a generation does, counted before it runs: the same stages (stages.ts planStages), windows
 * (views.ts getViews / mdViews) and dilated samples (s² per step at stage s, spec §3.4) the methods then run,
 * in UNet rows, so the estimate equals the report's `unetCalls` (UNetRunner counts rows; CFG runs two per
 * sample). Each method's file adds its own part (GenerationMethod.firstPassWork, stageWindowCount); per method:
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
import { resolveOptions, type GenerateOptions, type Method } from '../options/index.js';
import { METHOD_TABLE, type WorkQuery } from '../methods/index.js';
import type { ReDilationPlan } from '../methods/scalecrafter-settings.js';
import { planStages } from '../patch/stages.js';
import { viewCount } from '../patch/views.js';

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
  /**
   * Facts from the loaded model that a method's count needs (GenerationMethod.workFacts supplies them):
   * accdiffusion with patch prompts: windows on the cross-attention grid (mdViews) of this many latent cells.
   */
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


/** Counts the UNet rows of a run (see the file header); the method table says what each method adds. */
export function countUNetWork(p: UNetWorkPlan): RunCost {
  const f = p.vaeScaleFactor;
  const rows = p.classifierFreeGuidance ? 2 : 1;
  const B = p.nativeLatentSize;
  const method = METHOD_TABLE[p.method];
  const plan = planStages({ height: p.height, width: p.width, baseLatent: B, vaeScaleFactor: f });
  const first = method.progressive ? plan.phase1 : { scale: 1, latentHeight: p.height / f, latentWidth: p.width / f, height: p.height, width: p.width };
  const query = (latentHeight: number, latentWidth: number, steps: number): WorkQuery => ({ plan: p, latentHeight, latentWidth, steps, rows });
  const steps1 = p.firstPassSteps ?? p.steps;
  const pass = method.firstPassWork?.(query(first.latentHeight, first.latentWidth, steps1)) ?? { unetCalls: steps1 * rows, windowsPerStep: 0 };
  const area1 = pass.windowsPerStep > 0 ? 1 : (first.latentHeight * first.latentWidth) / (B * B);
  const stages: StageWork[] = [{ stage: 1, width: first.width, height: first.height, steps: steps1, unetCalls: pass.unetCalls, windowsPerStep: pass.windowsPerStep, nativeSizeEvaluations: pass.unetCalls * area1 }];
  let perStep = steps1 > 0 ? pass.unetCalls / steps1 : rows * Math.max(1, pass.windowsPerStep);
  for (const st of method.progressive ? plan.stages : []) {
    const q = query(st.latentHeight, st.latentWidth, p.steps);
    // patch windows (the method's, default DemoFusion's jittered ones at `stride`) plus s² dilated samples
    const windows = method.stageWindowCount?.(q) ?? viewCount(st.latentHeight, st.latentWidth, B, p.stride);
    const perStage = windows + st.scale * st.scale;
    const calls = p.steps * rows * perStage;
    stages.push({ stage: st.scale, width: st.width, height: st.height, steps: p.steps, unetCalls: calls, windowsPerStep: perStage, nativeSizeEvaluations: calls });
    perStep += rows * perStage;
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
  return countUNetWork({
    method: o.method, width: o.width, height: o.height, nativeLatentSize: folder.nativeLatentSize, vaeScaleFactor: folder.vaeScaleFactor,
    steps, firstPassSteps, classifierFreeGuidance: o.guidance > 1, stride: o.stride,
    ...METHOD_TABLE[o.method].workFacts?.(components, o, firstPassSteps),
  });
}
