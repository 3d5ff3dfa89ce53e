/**
 * The small interface every generation method implements, and what it is handed. A method decides how the
 * first pass predicts noise (plain, windowed, re-dilated, attention-scaled, attention-recording) and, if it
 * is progressive, which patch windows each upscaling stage uses. Everything else — stage planning,
 * checkpoints, the shared upscaling stage (skip residual, patch and dilated branches), decoding and
 * reports — is the pipeline's (src/pipeline/generate.ts). Adding a method is adding a file and a row in
 * index.ts.
 */
import type { Components } from '../loading/components.js';
import type { ConditionContext } from '../prompts/conditions.js';
import type { ResolvedOptions, Method } from '../options/index.js';
import type { RandomStreams } from '../sampling/random-streams.js';
import type { GuidedCondition } from '../sampling/unet-runner.js';
import type { StageWindows, TokenMask } from '../patch/window-prompts.js';
import type { StageSize } from '../patch/stages.js';
import type { PatchWindows } from '../patch/upscale-stage.js';
import type { DenoiseLoopHooks } from '../sampling/denoise-loop.js';
import type { Scheduler } from '../schedulers/scheduler.js';
import type { Tensor } from '../tensor/tensor.js';
import type { UNetWorkPlan } from '../pipeline/cost-estimate.js';

/** What a method's first pass reads. */
export interface FirstPassRun {
  readonly components: Components;
  readonly options: ResolvedOptions;
  /** The first pass's schedule (img2img: from `strength` on). */
  readonly scheduler: Scheduler;
  /** Initial latents [1, C, h, w] at the first pass's size, already scaled / noised for the scheduler. */
  readonly latents: Tensor;
  /** CFG pair of the whole prompt (crop [0, 0]). */
  readonly condition: GuidedCondition;
  /** How prompts become conditions (for per-window conditions). */
  readonly conditions: ConditionContext;
  readonly random: RandomStreams;
  /** The upscaling stages after the first pass (empty for single-pass methods). */
  readonly upscaleStages: readonly StageSize[];
  /** Stage 1's abort signal, progress and step hooks. */
  readonly hooks: DenoiseLoopHooks;
}

/** What a first pass returns. */
export interface FirstPassResult {
  /** Final latents [1, C, h, w] of the first pass. */
  readonly latents: Tensor;
  /** UNet rows the pass ran. */
  readonly unetCalls: number;
  /** AccDiffusion with patch prompts: the fixed windows and prompts of every upscaling stage, by stage number. */
  readonly stageWindows?: ReadonlyMap<number, StageWindows>;
  /** AccDiffusion with patch prompts: each word's binarised attention mask. */
  readonly masks?: readonly TokenMask[];
}

/** What a progressive method's patch windows of one upscaling stage read. */
export interface StageRun {
  readonly components: Components;
  readonly options: ResolvedOptions;
  readonly size: StageSize;
  readonly conditions: ConditionContext;
  readonly random: RandomStreams;
  /** The stage's fixed windows, when the first pass chose them (AccDiffusion with patch prompts). */
  readonly windows?: StageWindows;
}

/** What a cost estimate (src/pipeline/cost-estimate.ts) asks a method about one pass or stage. */
export interface WorkQuery {
  /** The run being counted (with the model facts workFacts supplied). */
  readonly plan: UNetWorkPlan;
  /** The pass's or stage's latent, in latent cells. */
  readonly latentHeight: number;
  readonly latentWidth: number;
  /** Its timesteps. */
  readonly steps: number;
  /** UNet rows per sample: 2 with classifier-free guidance, else 1. */
  readonly rows: number;
}

/** One generation method: a row of the method table (index.ts). */
export interface GenerationMethod {
  readonly name: Method;
  /** One line for help texts (the page's method list). */
  readonly summary: string;
  /**
   * true: a native-size first pass, then DemoFusion's progressive upscaling stages (src/patch/); false: one
   * pass at the target size.
   */
  readonly progressive: boolean;
  /** Cuts the latent into native-size windows (the patch branch): `stride`, `viewBatchSize` and `multiGuidance` apply. */
  readonly windowed: boolean;
  /** Rejects option combinations the method cannot run (OptionsError), before anything is loaded or drawn. */
  validate?(options: ResolvedOptions, hasImage: boolean): void;
  /** Denoises the first pass from `run.latents`. */
  firstPass(run: FirstPassRun): Promise<FirstPassResult>;
  /** Progressive methods: the patch-branch windows and conditions of stage `run.size` at step i. */
  stagePatchWindows?(run: StageRun): (step: number) => Promise<PatchWindows>;
  /**
   * Estimates: the first pass's UNet rows over all its steps and its windows per step (0: the whole latent).
   * Default: one sample per step, `q.rows` rows.
   */
  firstPassWork?(q: WorkQuery): { readonly unetCalls: number; readonly windowsPerStep: number };
  /**
   * Estimates, progressive methods: patch windows per step of an upscaling stage; undefined (or no member):
   * DemoFusion's, at `stride`.
   */
  stageWindowCount?(q: WorkQuery): number | undefined;
  /** Estimates: the facts of the loaded model that firstPassWork / stageWindowCount read. */
  workFacts?(components: Components, options: ResolvedOptions, firstPassSteps: number): Partial<UNetWorkPlan>;
}
