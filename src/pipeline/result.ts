/**
 * What a generation returns: the final image, every stage's image and latents, the per-token masks and
 * per-window prompts of AccDiffusion, and a report of parameters, timings and counts.
 */
import type { Tensor } from '../tensor/tensor.js';
import type { RgbImage } from '../tensor/rgb-image.js';
import type { TokenMask } from '../patch/window-prompts.js';
import type { Window } from '../patch/views.js';

export type { RgbImage, TokenMask, Window };
import type { ResolvedOptions } from '../options/index.js';

/** One stage's output: stage 1 is the native-size pass. */
export interface StageResult {
  readonly stage: number;
  /** The stage's image; only the final stage's unless GenerateOptions.stageImages is set. */
  readonly image?: RgbImage;
  /** Final latents of the stage [1,4,h,w] (not divided by the VAE scaling factor). */
  readonly latents: Tensor;
  /** Patch windows and the prompt each kept (AccDiffusion with patch prompts; else undefined). */
  readonly windows?: readonly Window[];
  readonly windowPrompts?: readonly string[];
}

/** Timings and counts of one generation. */
export interface GenerationReport {
  readonly options: Omit<ResolvedOptions, 'initLatents'>;
  readonly model: string;
  readonly stages: ReadonlyArray<{
    readonly stage: number;
    readonly width: number;
    readonly height: number;
    readonly windowPrompts?: readonly string[];
    readonly windows?: readonly Window[];
    readonly seconds: { readonly denoise: number; readonly decode: number };
    readonly unetCalls: number;
  }>;
  readonly seconds: { readonly load: number; readonly encode: number; readonly total: number };
  /** Number of UNet sample evaluations (batch rows), CFG rows included. */
  readonly unetCalls: number;
  readonly peakRssBytes: number;
}

export interface GenerateResult {
  /** The final image (the last stage's). */
  readonly image: RgbImage;
  readonly stages: readonly StageResult[];
  readonly masks: readonly TokenMask[];
  readonly report: GenerationReport;
  /**
   * img2img runs (GenerateOptions.image) whose first pass ran in this call: diffusers' `init_latents`
   * (scaling_factor · sample of the encoded image), the noised latents entering the first kept step, both
   * [1, C, h, w] at the first pass's size, and the number of steps that pass ran (int(steps · strength)).
   */
  readonly img2img?: { readonly encodedLatents: Tensor; readonly noisyLatents: Tensor; readonly stepsRun: number };
}
