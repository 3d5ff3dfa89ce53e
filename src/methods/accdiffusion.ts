/**
 * AccDiffusion (Lin et al., ECCV 2024; docs/accdiffusion-algorithm.md): DemoFusion's frame with
 * patch-content-aware prompts. The native pass records the cross-attention maps of chosen layers
 * (src/patch/attention-store.ts); each word's map becomes a cleaned mask and every window of every later
 * stage gets only the words that cover at least `c` of it (src/patch/patch-prompts.ts, §3.1). Those
 * windows are fixed per stage (jittered once). Window interaction in the dilated branch (§3.2,
 * src/patch/window-interaction.ts) is on by default. With patch prompts off it runs DemoFusion's windows.
 */
import { OptionsError } from '../errors.js';
import { AttentionStore, patchPromptLayers } from '../patch/attention-store.js';
import { patchPrompts } from '../patch/patch-prompts.js';
import type { PatchWindows } from '../patch/upscale-stage.js';
import { mdViewCount, mdViews } from '../patch/views.js';
import type { StageWindows, TokenMask } from '../patch/window-prompts.js';
import { guidedConditions } from '../prompts/conditions.js';
import type { ResolvedOptions } from '../options/index.js';
import { promptWords } from '../prompts/prompt-words.js';
import { img2imgTimesteps } from '../sampling/img2img-start.js';
import { firstPassLoop, guidedPredictor, plainFirstPass } from './direct.js';
import { jitteredPatchWindows } from './demofusion.js';
import type { FirstPassResult, FirstPassRun, GenerationMethod, StageRun } from './method.js';

/** The native pass with cross-attention capture, then every later stage's windows and prompts. */
async function recordingFirstPass(run: FirstPassRun): Promise<FirstPassResult> {
  const { components, options: o } = run;
  const chosen = patchPromptLayers(components.crossAttentionLayers);
  const layers = chosen.map((l) => l.path);
  // Latent cells per attention-map cell: 4 for SD/SDXL (maps at 1/32 of the image), less for shallow UNets.
  const cell = chosen[0]!.downsampleFactor;
  const store = new AttentionStore(layers);
  const capturing = await components.capturingUNet(layers);
  let pass: FirstPassResult;
  try {
    pass = await firstPassLoop(run, capturing, guidedPredictor(capturing, run.scheduler, run.condition, o, run.hooks, store));
  } finally {
    await capturing.release();
  }
  // words: BPE pieces of the literal prompt (the reference), or whole weighted words over the chunks (§3.5)
  const words = o.promptWeighting ? promptWords(components.tokenizer, o.prompt, run.conditions.promptMode!.chunks) : undefined;
  const tokenizer = components.tokenizer;
  const pieces = words ? words.map((w) => w.text) : tokenizer.encode(o.prompt).slice(1, -1).map((id) => tokenizer.decodePiece(id));
  // windows jittered once per stage
  const stagePlans = run.upscaleStages.map((st) => ({
    scale: st.scale,
    plan: mdViews({ latentHeight: st.latentHeight, latentWidth: st.latentWidth, baseLatent: components.folder.nativeLatentSize, attentionCell: cell, randint: run.random.jitter }),
  }));
  const [, , h, w] = run.latents.shape as [number, number, number, number];
  const prompts = patchPrompts({
    attention: store.aggregate(), attentionHeight: Math.ceil(h / cell), attentionWidth: Math.ceil(w / cell),
    pieces, ...(words ? { pieceColumns: words.map((x) => x.columns) } : {}), c: o.c, stages: stagePlans, referenceCompat: o.referenceCompat,
  });
  const stageWindows = new Map<number, StageWindows>();
  for (const sp of prompts.stages) {
    const plan = stagePlans.find((p) => p.scale === sp.scale)!.plan;
    stageWindows.set(sp.scale, { views: sp.latentViews, padding: plan.latentJitter, prompts: sp.prompts });
  }
  const masks: TokenMask[] = prompts.masks.map((m, j) => ({ index: m.column, token: words ? words[j]!.plain : m.text, width: m.width, height: m.height, mask: Uint8Array.from(m.mask, (v) => (v ? 255 : 0)) }));
  return { ...pass, stageWindows, masks };
}

/** The stage's fixed windows, each with its own prompt. */
function fixedPatchWindows(run: StageRun, sw: StageWindows): (step: number) => Promise<PatchWindows> {
  const f = run.components.folder.vaeScaleFactor;
  let fixed: Promise<PatchWindows> | undefined;
  return () => (fixed ??= guidedConditions(run.conditions, sw.prompts, sw.views.map((v) => [v.hStart * f, v.wStart * f]), 'window').then(
    (conditions) => ({ views: sw.views, padding: { height: sw.padding, width: sw.padding }, conditions }),
  ));
}

export const accdiffusion: GenerationMethod = {
  name: 'accdiffusion',
  summary: "DemoFusion plus per-window prompts from the native pass's attention masks and window interaction (Lin et al. 2024)",
  progressive: true,
  windowed: true,
  validate(o: ResolvedOptions, hasImage: boolean): void {
    if (hasImage && o.patchPrompts && img2imgTimesteps(o.steps, o.strength).initTimestepCount === 0) {
      throw new OptionsError(`strength ${o.strength} runs no step of ${o.steps}, so AccDiffusion has no cross-attention for its window prompts; raise --strength or --steps`);
    }
  },
  firstPass: (run) => (run.options.patchPrompts ? recordingFirstPass(run) : plainFirstPass(run)),
  stagePatchWindows: (run) => (run.windows ? fixedPatchWindows(run, run.windows) : jitteredPatchWindows(run)),
  // with patch prompts the windows sit on the cross-attention grid (mdViews); without, DemoFusion's (the default)
  stageWindowCount: (q) => (q.plan.patchPromptCell !== undefined ? mdViewCount(q.latentHeight, q.latentWidth, q.plan.nativeLatentSize, q.plan.patchPromptCell) : undefined),
  workFacts: (components, o) => (o.patchPrompts ? { patchPromptCell: patchPromptLayers(components.crossAttentionLayers)[0]!.downsampleFactor } : {}),
};
