/**
 * generate(): every method of the tool as numbered steps over the same parts (spec §1):
 * - direct: the plain loop at the target size;
 * - multidiffusion: native-size windows over the target latent, predictions averaged, one prompt;
 * - demofusion: native pass, then progressive stages (upsample, skip residual, patch branch with
 *   per-step jitter, dilated branch with blur), one prompt;
 * - accdiffusion: demofusion + patch-content-aware prompts from the native pass's cross-attention
 *   (fixed windows per stage) + window interaction in the dilated branch;
 * - attn-sf / scalecrafter: the plain loop at the target size with entropy-scaled self-attention
 *   (attn-sf.ts) or early re-dilated convs and noise-damped CFG (scalecrafter.ts).
 */
import { latentsForDecode } from '../decode/vae-latents.js';
import { AbortedError, NumericsError, OptionsError } from '../errors.js';
import { createScheduler, type Scheduler } from '../schedulers/index.js';
import { interpolateBicubic, mean, restandardize, std } from '../tensor/ops.js';
import type { RandomSource } from '../tensor/random.js';
import { tensor, type Tensor } from '../tensor/tensor.js';
import { TorchGenerator, type TorchGeneratorState } from '../tensor/torch-generator.js';
import { CheckpointDir, type StageWindows } from './checkpoint.js';
import { AttentionStore, patchPromptLayers } from '../patch/attention-store.js';
import { runAttnSf } from '../methods/attn-sf.js';
import type { Components } from './components.js';
import { guidedConditions, type ConditionContext } from './conditions.js';
import type { ProgressCallback } from './events.js';
import { runNativePass } from './native-pass.js';
import { resolveOptions, type GenerateOptions, type ResolvedOptions } from './options.js';
import { patchBranchNoise } from '../patch/patch-branch.js';
import { patchPrompts } from '../patch/patch-prompts.js';
import { promptWords } from '../prompts/prompt-words.js';
import { runPromptMode } from '../prompts/run-prompt-mode.js';
import type { GenerateResult, GenerationReport, StageResult, TokenMask, Window } from './result.js';
import { inputDivisorAt } from '../patch/reference-compat.js';
import { runScaleCrafter } from '../methods/scalecrafter.js';
import { planStages, type StageSize } from '../patch/stages.js';
import { decodeToImage } from '../decode/tiled-decode.js';
import { encodeInputLatents, firstPassStart, imageHash } from '../sampling/img2img-input.js';
import { img2imgTimesteps } from '../sampling/img2img-start.js';
import type { UNetRunner } from './unet-runner.js';
import { assertFinite, runUpscaleStage, type PatchWindows } from '../patch/upscale-stage.js';
import { getViews, mdViews, type RandInt, type View } from '../patch/views.js';
import { bigintAsString, nextSeed, type Seed } from '../tensor/seed.js';
import { applyWindowPrompts, currentWindowPrompts, stageWindowRects, type WindowPrompts, type WindowPromptsReview } from '../patch/window-prompts.js';

/** The random streams of a run (injectable for replay tests). */
export interface RandomStreams {
  /** Initial latents of the first pass and Euler a's step noise (diffusers' `generator`). */
  readonly latents: RandomSource;
  /** Stage noise and window-interaction permutations (the reference's global torch RNG). */
  readonly global: RandomSource;
  /** View jitter (the reference's Python `random`). */
  readonly jitter: RandInt;
  /** Position of the global and jitter streams, for checkpoints (absent: checkpoints unsupported). */
  snapshot?(): unknown;
  restore?(state: unknown): void;
}

/**
 * Seeded streams. The first two reproduce a CPU run of the reference seeded with `seed` (torch mt19937:
 * diffusers' generator and the global RNG); the jitter has its own stream (the reference's Python
 * `random` cannot be reproduced).
 */
export function seededStreams(seed: Seed): RandomStreams {
  const global = new TorchGenerator(seed);
  // seed + 1 as a uint64 (wraps at 2^64 − 1; no overflow past 2^53)
  const jitter = new TorchGenerator(nextSeed(seed));
  const latents = new TorchGenerator(seed);
  return {
    latents,
    global,
    jitter: (lo, hi) => jitter.randint(lo, hi),
    // latents moves on after the first draw only with Euler a, whose steps draw from it.
    snapshot: () => ({ global: global.getState(), jitter: jitter.getState(), latents: latents.getState() }),
    restore: (state) => {
      const st = state as { global: TorchGeneratorState; jitter: TorchGeneratorState; latents?: TorchGeneratorState };
      global.setState(st.global);
      jitter.setState(st.jitter);
      if (st.latents) latents.setState(st.latents);
    },
  };
}

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

const now = (): number => performance.now() / 1000;

/** Runs one generation with loaded components. */
export async function generate(components: Components, options: GenerateOptions, ctx: GenerateContext = {}): Promise<GenerateResult> {
  const t0 = now();
  const folder = components.folder;
  const o = resolveOptions(options, folder.nativeLatentSize);
  const emit = ctx.onProgress ?? (() => {});
  const random = ctx.random ?? seededStreams(o.seed);
  const f = folder.vaeScaleFactor;

  // 0. stages: direct and multidiffusion work at the target size only
  const progressiveMethod = o.method === 'accdiffusion' || o.method === 'demofusion';
  const plan = planStages({ height: o.height, width: o.width, baseLatent: folder.nativeLatentSize, vaeScaleFactor: f });
  const firstSize: StageSize = progressiveMethod
    ? plan.phase1
    : { scale: 1, latentHeight: o.height / f, latentWidth: o.width / f, height: o.height, width: o.width };
  const upscaleStages = progressiveMethod ? plan.stages : [];
  const stageCount = 1 + upscaleStages.length;
  const usePatchPrompts = o.method === 'accdiffusion' && o.patchPrompts;

  // 1. checkpoints: a resumed run skips every stage that finished before
  const { initLatents, ...keyOptions } = o;
  const inputImage = options.image;
  const checkpoints = ctx.stateDir ? new CheckpointDir(ctx.stateDir, JSON.stringify({ model: folder.path, options: keyOptions, init: initLatents ? Array.from(initLatents.data.subarray(0, 16)) : null, ...(inputImage ? { image: imageHash(inputImage) } : {}) }, bigintAsString)) : undefined;
  if (checkpoints && !random.snapshot) throw new OptionsError('checkpoints need seeded random streams');
  const resumed = ctx.resume && checkpoints ? checkpoints.load() : undefined;
  if (resumed) random.restore!(resumed.state.streams);
  const done = resumed?.state.stage ?? 0;

  // 2. scheduler and conditioning
  const scheduler = createScheduler(components.schedulerConfig, o.scheduler, undefined, { generator: random.latents });
  scheduler.setTimesteps(o.steps);
  const tEncode = now();
  // The capturing UNet of the AccDiffusion native pass is a separate session; load the plain one after it so
  // only one copy of the weights is in memory at a time.
  // Attn-SF and ScaleCrafter open their own UNet variant (or the plain one themselves).
  const ownUNet = usePatchPrompts || o.method === 'attn-sf' || o.method === 'scalecrafter';
  const plainUnet = ownUNet && done === 0 ? undefined : await components.plainUNet();
  const plainCallsAtStart = plainUnet?.calls ?? 0;
  const textTime = components.folder.hasTextTimeEmbedding;
  const promptMode = runPromptMode(components.promptEncoder, o);
  // diffusers' do_classifier_free_guidance: guidance_scale > 1 decides for every branch (the reference
  // pipelines decide the patch branch by guidance_scale too; multi_guidance_scale only scales it).
  const classifierFreeGuidance = o.guidance > 1;
  const condCtx: ConditionContext = { encoder: components.promptEncoder, negativePrompt: o.negativePrompt, classifierFreeGuidance, textTime, targetHeight: o.height, targetWidth: o.width, promptMode };
  const [fullCondition] = await guidedConditions(condCtx, [o.prompt], [[0, 0]]);
  const encodeSeconds = now() - tEncode;

  const stageReports: Array<GenerationReport['stages'][number]> = [...(resumed?.state.reports ?? [])];
  const stages: StageResult[] = [];
  let masks: TokenMask[] = (resumed?.state.masks ?? []).map((m) => ({ ...m, mask: Uint8Array.from(m.mask) }));
  const stageWindows = new Map<number, StageWindows>(resumed?.state.stageWindows ?? []);
  const lastStage = upscaleStages.length ? upscaleStages[upscaleStages.length - 1]!.scale : 1;
  const decode = async (stage: number, latents: Tensor, always = false): Promise<{ image: StageResult['image']; seconds: number }> => {
    if (!o.stageImages && stage !== lastStage && !always) return { image: undefined, seconds: 0 };
    const t = now();
    const scaled = latentsForDecode(latents, components.vaeConfig);
    const tileLatent = folder.nativeLatentSize;
    // Larger than native: native-size tiles (one decoder input shape, activations the size of one tile).
    const whole = Math.max(latents.shape[2]!, latents.shape[3]!) <= tileLatent;
    try {
      const image = await decodeToImage(scaled, async (tile) => (await components.vaeDecoder.run({ latent_sample: tile })).sample!, {
        tileLatent: whole ? Math.max(latents.shape[2]!, latents.shape[3]!) : tileLatent,
        overlapLatent: whole ? 0 : Math.floor(tileLatent / 4),
        onTile: (tile, tiles) => emit({ type: 'decode', stage, tile, tiles }),
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      });
      return { image, seconds: now() - t };
    } catch (e) {
      if (e instanceof NumericsError) throw new NumericsError(`stage ${stage}: ${e.message}`);
      throw e;
    }
  };
  let anchorMean = resumed?.state.anchorMean ?? 0;
  let anchorStd = resumed?.state.anchorStd ?? 1;
  const checkpoint = (stage: number, latents: Tensor): void => {
    ctx.onStageLatents?.(stage, latents);
    ctx.onStage?.(stages[stages.length - 1]!);
    checkpoints?.save({
      version: 1, key: checkpoints.key, stage, anchorMean, anchorStd, streams: random.snapshot!(),
      stageWindows: [...stageWindows], masks: masks.map((m) => ({ ...m, mask: Array.from(m.mask) })), reports: stageReports,
    }, latents);
  };

  // 3. first pass: direct / native-size (with cross-attention capture for patch prompts)
  let latents: Tensor;
  let tStage = now();
  let stage1Calls = 0;
  let scheduler1: Scheduler = scheduler; // the first pass's schedule: from `strength` on for img2img
  let img2img: GenerateResult['img2img'];
  if (done >= 1) {
    latents = resumed!.latents(1);
    stages.push({ stage: 1, image: (await decode(1, latents)).image, latents });
  } else {
    const steps1 = inputImage ? img2imgTimesteps(o.steps, o.strength).initTimestepCount : o.steps;
    if (inputImage && usePatchPrompts && steps1 === 0) {
      throw new OptionsError(`strength ${o.strength} runs no step of ${o.steps}, so AccDiffusion has no cross-attention for its window prompts; raise --strength or --steps`);
    }
    emit({ type: 'stage-start', stage: 1, stages: stageCount, width: firstSize.width, height: firstSize.height, steps: steps1 });
    // initial latents of the first pass
    const latentShape = [1, components.vaeConfig.latent_channels, firstSize.latentHeight, firstSize.latentWidth];
    let init: Tensor;
    if (inputImage) {
      // img2img: the user's image at the first pass's size, encoded and noised (no init_noise_sigma)
      const start = await firstPassStart({ components, image: inputImage, width: firstSize.width, height: firstSize.height, strength: o.strength, scheduler, random: random.latents, ...signalOf(ctx) });
      scheduler1 = start.scheduler;
      img2img = { encodedLatents: start.encodedLatents, noisyLatents: start.noisyLatents, stepsRun: start.stepsRun };
      init = start.noisyLatents;
    } else if (initLatents) {
      const sh = initLatents.shape;
      if (sh.length !== 4 || sh.some((d, i) => d !== latentShape[i])) {
        throw new OptionsError(`initial latents have shape [${sh}], this run needs [${latentShape}]`);
      }
      init = initLatents;
    } else {
      init = random.latents.randn(latentShape);
    }
    if (!inputImage) init = tensor(init.shape, Float32Array.from(init.data, (v) => v * scheduler.initNoiseSigma));
    if (o.method === 'multidiffusion') {
      latents = await runMultiDiffusion(plainUnet!, components, scheduler1, init, condCtx, o, ctx);
    } else if (o.method === 'attn-sf' || o.method === 'scalecrafter') {
      const args = { components, scheduler: scheduler1, latents: init, condition: fullCondition!, guidance: o.guidance, guidanceRescale: o.guidanceRescale, onProgress: emit, ...signalOf(ctx), ...stepHook(ctx, 1) };
      ({ latents, unetCalls: stage1Calls } = o.method === 'attn-sf' ? await runAttnSf(args) : await runScaleCrafter(args));
    } else if (usePatchPrompts) {
      const chosen = patchPromptLayers(components.crossAttentionLayers);
      const layers = chosen.map((l) => l.path);
      // Latent cells per attention-map cell: 4 for SD/SDXL (maps at 1/32 of the image), less for shallow UNets.
      const cell = chosen[0]!.downsampleFactor;
      const store = new AttentionStore(layers);
      const capturing = await components.capturingUNet(layers);
      try {
        latents = await runNativePass({ stage: 1, unet: capturing, scheduler: scheduler1, latents: init, condition: fullCondition!, guidance: o.guidance, guidanceRescale: o.guidanceRescale, store, onProgress: emit, ...signalOf(ctx), ...stepHook(ctx, 1) });
        stage1Calls = capturing.calls;
      } finally {
        await capturing.release();
      }
      // 4. patch-content-aware prompts for every later stage (views jittered once per stage)
      // words: BPE pieces of the literal prompt (the reference), or whole weighted words over the chunks (§3.5)
      const words = o.promptWeighting ? promptWords(components.tokenizer, o.prompt, promptMode.chunks) : undefined;
      const pieces = words ? words.map((w) => w.text) : components.tokenizer.encode(o.prompt).slice(1, -1).map((id) => components.tokenizer.decodePiece(id));
      const stagePlans = upscaleStages.map((st) => ({
        scale: st.scale,
        plan: mdViews({ latentHeight: st.latentHeight, latentWidth: st.latentWidth, baseLatent: folder.nativeLatentSize, attentionCell: cell, randint: random.jitter }),
      }));
      const prompts = patchPrompts({
        attention: store.aggregate(), attentionHeight: Math.ceil(firstSize.latentHeight / cell), attentionWidth: Math.ceil(firstSize.latentWidth / cell),
        pieces, ...(words ? { pieceColumns: words.map((w) => w.columns) } : {}), c: o.c, stages: stagePlans, referenceCompat: o.referenceCompat,
      });
      for (const sp of prompts.stages) {
        const plan = stagePlans.find((p) => p.scale === sp.scale)!.plan;
        stageWindows.set(sp.scale, { views: sp.latentViews, padding: plan.latentJitter, prompts: sp.prompts });
      }
      masks = prompts.masks.map((m, j) => ({ index: m.column, token: words ? words[j]!.plain : m.text, width: m.width, height: m.height, mask: Uint8Array.from(m.mask, (v) => (v ? 255 : 0)) }));
    } else {
      latents = await runNativePass({ stage: 1, unet: plainUnet!, scheduler: scheduler1, latents: init, condition: fullCondition!, guidance: o.guidance, guidanceRescale: o.guidanceRescale, onProgress: emit, ...signalOf(ctx), ...stepHook(ctx, 1) });
    }
    const denoise1 = now() - tStage;
    if (plainUnet) stage1Calls = plainUnet.calls - plainCallsAtStart;
    anchorMean = mean(latents);
    anchorStd = std(latents);
    const d1 = await decode(1, latents);
    stages.push({ stage: 1, image: d1.image, latents });
    stageReports.push({ stage: 1, width: firstSize.width, height: firstSize.height, seconds: { denoise: denoise1, decode: d1.seconds }, unetCalls: stage1Calls });
    checkpoint(1, latents);
    emit({ type: 'stage-end', stage: 1, seconds: now() - tStage });
  }

  // 4b. window prompts from the caller: fixed ones from the options, then the caller's review (window-prompts.ts)
  if (o.windowPrompts) applyWindowPrompts(stageWindows, o.windowPrompts);
  let steered = o.windowPrompts !== undefined;
  if (ctx.reviewWindowPrompts && stageWindows.size > 0) {
    const nativeImage = stages[0]!.image ?? (await decode(1, stages[0]!.latents, true)).image!;
    const review: WindowPromptsReview = {
      nativeImage, masks,
      stages: upscaleStages.filter((st) => stageWindows.has(st.scale)).map((st) => {
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
  const usedWindowPrompts = steered ? currentWindowPrompts(stageWindows) : undefined;

  // 5. progressive stages
  const unet = plainUnet ?? (upscaleStages.length ? await components.plainUNet() : undefined);
  for (const size of upscaleStages) {
    const sw = stageWindows.get(size.scale);
    const windows: Window[] | undefined = sw?.views.map((v) => ({ top: v.hStart - sw.padding, left: v.wStart - sw.padding, height: v.hEnd - v.hStart, width: v.wEnd - v.wStart }));
    const windowInfo = sw ? { windows: windows!, windowPrompts: [...sw.prompts] } : {};
    if (size.scale <= done) {
      latents = resumed!.latents(size.scale);
      stages.push({ stage: size.scale, image: (await decode(size.scale, latents)).image, latents, ...windowInfo });
      continue;
    }
    tStage = now();
    emit({ type: 'stage-start', stage: size.scale, stages: stageCount, width: size.width, height: size.height, steps: o.steps });
    const callsBefore = unet!.calls;
    // upscale with inputResidual: a stage no larger than the input takes the input's own encoding (docs/upscale.md §3.1)
    const fromInput = inputImage && o.inputResidual && inputImage.width >= size.width && inputImage.height >= size.height;
    const upsampled = fromInput
      ? await encodeInputLatents(components, inputImage, size.width, size.height, ctx.signal)
      : interpolateBicubic(latents, size.latentHeight, size.latentWidth);
    let patchWindows: (step: number) => Promise<PatchWindows>;
    if (sw) {
      // AccDiffusion: fixed windows per stage, each with its own prompt
      const conds = await guidedConditions(condCtx, sw.prompts, sw.views.map((v) => [v.hStart * f, v.wStart * f]), 'window');
      const fixed: PatchWindows = { views: sw.views, padding: { height: sw.padding, width: sw.padding }, conditions: conds };
      patchWindows = async () => fixed;
    } else {
      // DemoFusion: windows re-jittered at every step, one prompt
      patchWindows = async () => {
        const set = getViews({ height: size.latentHeight, width: size.latentWidth, window: folder.nativeLatentSize, stride: o.stride, randint: random.jitter });
        const conds = await guidedConditions(condCtx, set.views.map(() => o.prompt), set.views.map((v) => [v.hStart * f, v.wStart * f]));
        return { views: set.views, padding: { height: set.jitterHeight, width: set.jitterWidth }, conditions: conds };
      };
    }
    const x = await runUpscaleStage({
      stage: size.scale, unet: unet!, scheduler, upsampled, random: random.global, patchWindows,
      dilated: { scale: size.scale, condition: fullCondition!, sigma: o.sigma, shuffle: o.windowInteraction },
      skipResidual: true, cosineScale1: o.cosineScale1, cosineScale2: o.cosineScale2, cosineScale3: o.cosineScale3,
      guidance: o.guidance, multiGuidance: o.multiGuidance, guidanceRescale: o.guidanceRescale, viewBatchSize: o.viewBatchSize,
      referenceCompat: o.referenceCompat, onProgress: emit, ...signalOf(ctx),
      ...(ctx.onStepLatents ? { onStepLatents: (i: number, l: Tensor) => ctx.onStepLatents!(size.scale, i, l) } : {}),
    });
    // 6. re-standardise to the first pass's statistics
    latents = restandardize(x, anchorMean, anchorStd);
    assertFinite(latents, `stage ${size.scale}`);
    const denoise = now() - tStage;
    const d = await decode(size.scale, latents);
    stages.push({ stage: size.scale, image: d.image, latents, ...windowInfo });
    stageReports.push({ stage: size.scale, width: size.width, height: size.height, seconds: { denoise, decode: d.seconds }, unetCalls: unet!.calls - callsBefore, ...windowInfo });
    checkpoint(size.scale, latents);
    emit({ type: 'stage-end', stage: size.scale, seconds: now() - tStage });
  }
  if (ctx.signal?.aborted) throw new AbortedError('stopped');

  const unetCalls = stageReports.reduce((a, st) => a + st.unetCalls, 0);
  const report: GenerationReport = {
    options: usedWindowPrompts ? { ...keyOptions, windowPrompts: usedWindowPrompts } : keyOptions,
    model: folder.path,
    stages: stageReports,
    seconds: { load: 0, encode: encodeSeconds, total: now() - t0 },
    unetCalls,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
  return { image: stages[stages.length - 1]!.image!, stages, masks, report, ...(img2img ? { img2img } : {}) };
}

function signalOf(ctx: GenerateContext): { signal?: AbortSignal } {
  return ctx.signal ? { signal: ctx.signal } : {};
}

function stepHook(ctx: GenerateContext, stage: number): { onStepLatents?: (i: number, l: Tensor) => void } {
  return ctx.onStepLatents ? { onStepLatents: (i, l) => ctx.onStepLatents!(stage, i, l) } : {};
}

/** MultiDiffusion (Bar-Tal et al. 2023): native-size windows over the target latent, averaged, same prompt. */
async function runMultiDiffusion(
  unet: UNetRunner, components: Components, scheduler: Scheduler, init: Tensor, condCtx: ConditionContext, o: ResolvedOptions, ctx: GenerateContext,
): Promise<Tensor> {
  const [, , H, W] = init.shape as [number, number, number, number];
  const f = components.folder.vaeScaleFactor;
  const { views } = getViews({ height: H, width: W, window: components.folder.nativeLatentSize, stride: o.stride });
  const conditions = await guidedConditions(condCtx, views.map(() => o.prompt), views.map((v: View) => [v.hStart * f, v.wStart * f]));
  let x = init;
  const timesteps = scheduler.timesteps;
  for (let i = 0; i < timesteps.length; i++) {
    if (ctx.signal?.aborted) throw new AbortedError(`stopped at stage 1, step ${i + 1}`);
    const t = timesteps[i]!;
    const d = inputDivisorAt(scheduler, i);
    const eps = await patchBranchNoise({
      unet, latents: x, views, padding: { height: 0, width: 0 }, conditions, timestep: t, inputDivisor: () => d,
      guidance: o.guidance, guidanceRescale: o.guidanceRescale, viewBatchSize: o.viewBatchSize,
      onBatch: (batch, batches) => ctx.onProgress?.({ type: 'window-batch', stage: 1, step: i + 1, branch: 'patch', batch, batches }),
    });
    x = scheduler.step(eps, t, x, { stepIndex: i }).prevSample;
    assertFinite(x, `stage 1, step ${i + 1}`);
    ctx.onStepLatents?.(1, i, x);
    ctx.onProgress?.({ type: 'step', stage: 1, step: i + 1, steps: timesteps.length });
  }
  return x;
}
