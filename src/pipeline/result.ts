/**
 * What a generation returns: the final image, every stage's image and latents, the per-token masks and
 * per-window prompts of AccDiffusion, and a report of parameters, timings and counts.
 */
import type { Tensor } from '../tensor/tensor.js';
import type { ResolvedOptions } from '../options/index.js';

/** An 8-bit RGB image, row-major, 3 bytes per pixel. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly rgb: Uint8Array;
}

/** A window in latent cells of one stage's latent (un-padded coordinates; may extend past the edges by the jitter margin). */
export interface Window {
  readonly top: number;
  readonly left: number;
  readonly height: number;
  readonly width: number;
}

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

/** A prompt token's binary mask from the native pass's cross-attention (AccDiffusion). */
export interface TokenMask {
  /**
   * Position of the token in the prompt's ids (1 = first piece after BOS); with prompt weighting, the key
   * column of the word's first piece in the chunked sequence (chunk·77 + 1 + position in the chunk).
   */
  readonly index: number;
  /** The piece's text, or with prompt weighting the whole word without syntax. */
  readonly token: string;
  /** 0/255 at the attention-map resolution. */
  readonly mask: Uint8Array;
  readonly width: number;
  readonly height: number;
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
