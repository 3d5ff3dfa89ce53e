/**
 * generate(): one generation with loaded components, for every method (spec §1), in numbered steps:
 * 0. resolve the options and look the method up in the method table (src/methods/index.ts);
 * 1. plan the stages, open checkpoints, 2. make the scheduler and encode the prompt (generation-run.ts);
 * 3. stage 1: the method's first pass from noise or the user's image (first-pass.ts);
 * 4. the caller's window prompts (window-prompts-review.ts);
 * 5. progressive methods: the upscaling stages (upscale-stages.ts);
 * 6. the result and its report.
 */
import { AbortedError } from '../errors.js';
import { METHOD_TABLE } from '../methods/index.js';
import type { WindowPrompts, WindowPromptsReview } from '../patch/window-prompts.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Components } from '../loading/components.js';
import type { ProgressCallback } from '../events.js';
import { runFirstPass } from './first-pass.js';
import { GenerationRun, now } from './generation-run.js';
import { resolveOptions, type GenerateOptions } from '../options/index.js';
import type { RandomStreams } from '../sampling/random-streams.js';
import type { GenerateResult, GenerationReport, StageResult } from './result.js';
import { runUpscaleStages } from './upscale-stages.js';
import { steerWindowPrompts } from './window-prompts-review.js';

export interface GenerateContext {
  readonly onProgress?: ProgressCallback;
  readonly signal?: AbortSignal;
  readonly random?: RandomStreams;
  /** Folder for stage checkpoints; with `resume`, a run continues from its last finished stage. */
  readonly stateDir?: string;
  readonly resume?: boolean;
  /** Called after each stage with its final latents. */
  readonly onStageLatents?: (stage: number, latents: Tensor) => void;
  /** Per-step latents of every stage (tests compare them with the reference's). */
  readonly onStepLatents?: (stage: number, step: number, latents: Tensor) => void;
  /** Called with each stage's result as it finishes (its image when GenerateOptions.stageImages). */
  readonly onStage?: (stage: StageResult) => void;
  /**
   * AccDiffusion with patch prompts: called once after the native pass with its image, masks and every
   * stage's windows and prompts; the prompts it resolves to replace those stages' (window-prompts.ts).
   * The run waits for it; aborting the signal meanwhile ends the run after it settles.
   */
  readonly reviewWindowPrompts?: (review: WindowPromptsReview) => Promise<WindowPrompts | undefined>;
}

/** Runs one generation with loaded components. Throws OptionsError, AbortedError, NumericsError. */
export async function generate(components: Components, options: GenerateOptions, ctx: GenerateContext = {}): Promise<GenerateResult> {
  const t0 = now();
  const o = resolveOptions(options, components.folder.nativeLatentSize);
  const method = METHOD_TABLE[o.method];
  method.validate?.(o, options.image !== undefined);
  const run = new GenerationRun(components, o, method, options.image, ctx);
  await run.encodePrompt();
  await runFirstPass(run);
  const usedWindowPrompts = await steerWindowPrompts(run);
  await runUpscaleStages(run);
  if (ctx.signal?.aborted) throw new AbortedError('stopped');
  return result(run, t0, usedWindowPrompts);
}

function result(run: GenerationRun, t0: number, usedWindowPrompts: WindowPrompts | undefined): GenerateResult {
  const keyOptions = run.reportOptions;
  const report: GenerationReport = {
    options: usedWindowPrompts ? { ...keyOptions, windowPrompts: usedWindowPrompts } : keyOptions,
    model: run.components.folder.path,
    stages: run.stageReports,
    seconds: { load: 0, encode: run.encodeSeconds, total: now() - t0 },
    unetCalls: run.stageReports.reduce((a, st) => a + st.unetCalls, 0),
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
  const stages = run.stages;
  return { image: stages[stages.length - 1]!.image!, stages, masks: [...run.masks], report, ...(run.img2img ? { img2img: run.img2img } : {}) };
}
