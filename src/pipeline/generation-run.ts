/**
 * The state of one generate() call, shared by its steps (first-pass.ts, window-prompts-review.ts,
 * upscale-stages.ts): the resolved options and method, the stage plan, the scheduler and prompt conditions,
 * the random streams, checkpoints of a resumable run, and what each finished stage left (latents, images,
 * reports, AccDiffusion's windows and masks). It also decodes stage images and writes checkpoints.
 */
import { NumericsError, OptionsError } from '../errors.js';
import type { GenerationMethod } from '../methods/method.js';
import { decodeToImage } from '../decode/tiled-decode.js';
import { latentsForDecode } from '../decode/vae-latents.js';
import { planStages, type StageSize } from '../patch/stages.js';
import { runPromptMode } from '../prompts/run-prompt-mode.js';
import { imageHash } from '../sampling/img2img-input.js';
import { createScheduler, type Scheduler } from '../schedulers/index.js';
import { bigintAsString } from '../tensor/seed.js';
import type { Tensor } from '../tensor/tensor.js';
import { CheckpointDir } from './checkpoint.js';
import type { StageWindows } from '../patch/window-prompts.js';
import type { Components } from '../loading/components.js';
import { guidedConditions, type ConditionContext } from '../prompts/conditions.js';
import type { GenerateContext } from './generate.js';
import type { ResolvedOptions } from '../options/index.js';
import { seededStreams, type RandomStreams } from '../sampling/random-streams.js';
import type { GenerateResult, GenerationReport, RgbImage, StageResult, TokenMask } from './result.js';
import type { GuidedCondition } from '../sampling/unet-runner.js';
import type { DenoiseLoopHooks } from '../sampling/denoise-loop.js';
import type { ProgressCallback } from '../events.js';

/** Seconds on a monotonic clock. */
export const now = (): number => performance.now() / 1000;

/** A checkpoint read back for --resume. */
type Resumed = NonNullable<ReturnType<CheckpointDir['load']>>;

export class GenerationRun {
  readonly emit: NonNullable<GenerateContext['onProgress']>;
  readonly random: RandomStreams;
  /** The first pass's size: the native canvas for progressive methods, the target for the others. */
  readonly firstSize: StageSize;
  /** Progressive methods' upscaling stages (empty for the others). */
  readonly upscaleStages: readonly StageSize[];
  readonly checkpoints: CheckpointDir | undefined;
  readonly resumed: Resumed | undefined;
  /** Last stage finished before this call (0: none; a resumed run skips stages up to it). */
  readonly done: number;
  readonly scheduler: Scheduler;
  readonly conditions: ConditionContext;
  /** CFG pair of the whole prompt (crop [0, 0]): first pass and dilated branch. */
  fullCondition!: GuidedCondition;
  encodeSeconds = 0;
  readonly stages: StageResult[] = [];
  readonly stageReports: Array<GenerationReport['stages'][number]>;
  masks: readonly TokenMask[];
  readonly stageWindows: Map<number, StageWindows>;
  anchorMean: number;
  anchorStd: number;
  img2img: GenerateResult['img2img'];

  constructor(
    readonly components: Components,
    readonly options: ResolvedOptions,
    readonly method: GenerationMethod,
    readonly image: RgbImage | undefined,
    readonly ctx: GenerateContext,
  ) {
    const o = options;
    const folder = components.folder;
    const f = folder.vaeScaleFactor;
    this.emit = ctx.onProgress ?? (() => {});
    this.random = ctx.random ?? seededStreams(o.seed);
    // 0. stages: single-pass methods work at the target size only
    const plan = planStages({ height: o.height, width: o.width, baseLatent: folder.nativeLatentSize, vaeScaleFactor: f });
    this.firstSize = method.progressive ? plan.phase1 : { scale: 1, latentHeight: o.height / f, latentWidth: o.width / f, height: o.height, width: o.width };
    this.upscaleStages = method.progressive ? plan.stages : [];
    // 1. checkpoints: a resumed run skips every stage that finished before
    this.checkpoints = ctx.stateDir ? new CheckpointDir(ctx.stateDir, this.checkpointKey()) : undefined;
    if (this.checkpoints && !this.random.snapshot) throw new OptionsError('checkpoints need seeded random streams');
    this.resumed = ctx.resume && this.checkpoints ? this.checkpoints.load() : undefined;
    if (this.resumed) this.random.restore!(this.resumed.state.streams);
    const state = this.resumed?.state;
    this.done = state?.stage ?? 0;
    this.stageReports = [...(state?.reports ?? [])];
    this.masks = (state?.masks ?? []).map((m) => ({ ...m, mask: Uint8Array.from(m.mask) }));
    this.stageWindows = new Map(state?.stageWindows ?? []);
    this.anchorMean = state?.anchorMean ?? 0;
    this.anchorStd = state?.anchorStd ?? 1;
    // 2. scheduler and conditioning
    this.scheduler = createScheduler(components.schedulerConfig, o.scheduler, undefined, { generator: this.random.latents });
    this.scheduler.setTimesteps(o.steps);
    // diffusers' do_classifier_free_guidance: guidance_scale > 1 decides for every branch (the reference
    // pipelines decide the patch branch by guidance_scale too; multi_guidance_scale only scales it).
    this.conditions = {
      encoder: components.promptEncoder, negativePrompt: o.negativePrompt, classifierFreeGuidance: o.guidance > 1,
      textTime: folder.hasTextTimeEmbedding, targetHeight: o.height, targetWidth: o.width, promptMode: runPromptMode(components.promptEncoder, o),
    };
  }

  /** Encodes the whole prompt (the first pass's and the dilated branch's condition). */
  async encodePrompt(): Promise<void> {
    const t = now();
    [this.fullCondition] = (await guidedConditions(this.conditions, [this.options.prompt], [[0, 0]])) as [GuidedCondition];
    this.encodeSeconds = now() - t;
  }

  get stageCount(): number {
    return 1 + this.upscaleStages.length;
  }

  /** The last stage's number (its image is always decoded). */
  get lastStage(): number {
    return this.upscaleStages.length ? this.upscaleStages[this.upscaleStages.length - 1]!.scale : 1;
  }

  /** Options as the report records them (no initial latents). */
  get reportOptions(): Omit<ResolvedOptions, 'initLatents'> {
    const { initLatents: _, ...keyOptions } = this.options;
    return keyOptions;
  }

  /** Identifies the run in its checkpoints: model, options, initial latents, input image. */
  private checkpointKey(): string {
    const init = this.options.initLatents;
    return JSON.stringify({
      model: this.components.folder.path, options: this.reportOptions, init: init ? Array.from(init.data.subarray(0, 16)) : null,
      ...(this.image ? { image: imageHash(this.image) } : {}),
    }, bigintAsString);
  }

  /** Stage `stage`'s abort signal, progress and step hook, as the denoise loop takes them. */
  loopHooks(stage: number): DenoiseLoopHooks & { readonly onProgress: ProgressCallback } {
    const { signal, onStepLatents } = this.ctx;
    return { stage, onProgress: this.emit, ...(signal ? { signal } : {}), ...(onStepLatents ? { onStepLatents: (i: number, l: Tensor) => onStepLatents(stage, i, l) } : {}) };
  }

  /**
   * The stage's image when it is wanted (the last stage, every stage with stageImages, or `always`), and the
   * seconds decoding took. Latents larger than native decode in native-size tiles (src/decode/).
   */
  async decode(stage: number, latents: Tensor, always = false): Promise<{ image: RgbImage | undefined; seconds: number }> {
    if (!this.options.stageImages && stage !== this.lastStage && !always) return { image: undefined, seconds: 0 };
    const t = now();
    const { components } = this;
    const scaled = latentsForDecode(latents, components.vaeConfig);
    const tileLatent = components.folder.nativeLatentSize;
    const side = Math.max(latents.shape[2]!, latents.shape[3]!);
    // Larger than native: native-size tiles (one decoder input shape, activations the size of one tile).
    const whole = side <= tileLatent;
    try {
      const image = await decodeToImage(scaled, async (tile) => (await components.vaeDecoder.run({ latent_sample: tile })).sample!, {
        tileLatent: whole ? side : tileLatent,
        overlapLatent: whole ? 0 : Math.floor(tileLatent / 4),
        onTile: (tile, tiles) => this.emit({ type: 'decode', stage, tile, tiles }),
        ...(this.ctx.signal ? { signal: this.ctx.signal } : {}),
      });
      return { image, seconds: now() - t };
    } catch (e) {
      if (e instanceof NumericsError) throw new NumericsError(`stage ${stage}: ${e.message}`);
      throw e;
    }
  }

  /** After a stage: hooks, then the checkpoint (when --state-dir). */
  checkpoint(stage: number, latents: Tensor): void {
    this.ctx.onStageLatents?.(stage, latents);
    this.ctx.onStage?.(this.stages[this.stages.length - 1]!);
    if (!this.checkpoints) return;
    this.checkpoints.save({
      version: 1, key: this.checkpoints.key, stage, anchorMean: this.anchorMean, anchorStd: this.anchorStd, streams: this.random.snapshot!(),
      stageWindows: [...this.stageWindows], masks: this.masks.map((m) => ({ ...m, mask: Array.from(m.mask) })), reports: this.stageReports,
    }, latents);
  }
}
