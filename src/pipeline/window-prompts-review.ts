/**
 * Window prompts the caller chose (AccDiffusion with patch prompts): fixed ones from the options, then the
 * caller's review after the native pass (GenerateContext.reviewWindowPrompts; the web page's steering).
 * Both replace the prompts the first pass chose for those stages (src/patch/window-prompts.ts).
 */
import { AbortedError } from '../errors.js';
import { applyWindowPrompts, currentWindowPrompts, stageWindowRects, type WindowPrompts, type WindowPromptsReview } from '../patch/window-prompts.js';
import type { GenerationRun } from './generation-run.js';

/** Applies the options' and the review's window prompts; returns the prompts used when the caller chose any. */
export async function steerWindowPrompts(run: GenerationRun): Promise<WindowPrompts | undefined> {
  const { options: o, stageWindows, ctx } = run;
  if (o.windowPrompts) applyWindowPrompts(stageWindows, o.windowPrompts);
  let steered = o.windowPrompts !== undefined;
  if (ctx.reviewWindowPrompts && stageWindows.size > 0) {
    const nativeImage = run.stages[0]!.image ?? (await run.decode(1, run.stages[0]!.latents, true)).image!;
    const review: WindowPromptsReview = {
      nativeImage,
      masks: run.masks,
      stages: run.upscaleStages.filter((st) => stageWindows.has(st.scale)).map((st) => {
        const sw = stageWindows.get(st.scale)!;
        return { stage: st.scale, latentWidth: st.latentWidth, latentHeight: st.latentHeight, windows: stageWindowRects(sw), prompts: [...sw.prompts] };
      }),
    };
    const edited = await ctx.reviewWindowPrompts(review);
    if (ctx.signal?.aborted) throw new AbortedError('stopped after the native pass');
    if (edited) applyWindowPrompts(stageWindows, edited, 'reviewed window prompts');
    steered ||= edited !== undefined;
  }
  // Prompts the caller chose are recorded with the result (report options, PNG parameters).
  return steered ? currentWindowPrompts(stageWindows) : undefined;
}
