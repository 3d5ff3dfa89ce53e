/**
 * GenerateOptions: what a caller asks for, with the AccDiffusion reference defaults (spec §8.1, "full
 * AccDiffusion" README flags), and ResolvedOptions, the same with every default filled in. Each option's
 * default, unit, range, CLI flag and help text are declared once in option-table.ts; resolve-options.ts
 * validates through that table.
 */
import { SCHEDULER_NAMES, type SchedulerName } from '../schedulers/names.js';
import type { Tensor } from '../tensor/tensor.js';
import type { RgbImage } from '../tensor/rgb-image.js';
import type { Seed } from '../tensor/seed.js';
import type { WindowPrompts } from '../patch/window-prompts.js';

export const METHODS = ['accdiffusion', 'demofusion', 'multidiffusion', 'direct', 'attn-sf', 'scalecrafter'] as const;
export type Method = (typeof METHODS)[number];

/** The `scheduler` choices (src/schedulers/names.ts; A1111/ComfyUI names and diffusers class names are aliases). */
export const SCHEDULERS = SCHEDULER_NAMES;
export type { SchedulerName };

/** The reference CLI's negative prompt (accdiffusion_sdxl.py). */
export const REFERENCE_NEGATIVE_PROMPT = 'blurry, ugly, duplicate, poorly drawn, deformed, mosaic';

/** Options of one generation. Sizes are in pixels; everything but prompt, width and height is optional. */
export interface GenerateOptions {
  readonly prompt: string;
  /** Negative prompt; default REFERENCE_NEGATIVE_PROMPT. `null` means none (diffusers' default: zeros for SDXL with force_zeros_for_empty_prompt, else ""). */
  readonly negativePrompt?: string | null;
  /** Target width and height in pixels, multiples of 8. */
  readonly width: number;
  readonly height: number;
  readonly method?: Method;
  /** Denoising steps per stage (default 50). */
  readonly steps?: number;
  /** CFG scale of the native pass and the dilated branch (default 7.5). */
  readonly guidance?: number;
  /** CFG scale of the patch branch (default 7.5). */
  readonly multiGuidance?: number;
  /** diffusers guidance_rescale (default 0: off). */
  readonly guidanceRescale?: number;
  /**
   * Seed of torch's CPU generator, 0..2^64 − 1 (default 42): a number, or a bigint / decimal string for
   * seeds above 2^53 − 1. Noise equals `torch.Generator().manual_seed(seed)`'s.
   */
  readonly seed?: number | bigint | string;
  /** Scheduler override (a SchedulerName or one of its aliases, e.g. "DPM++ 2M Karras"); default: the model's scheduler_config.json. */
  readonly scheduler?: SchedulerName | (string & {});
  /** Ratio threshold for a word to enter a patch prompt (default 0.3). */
  readonly c?: number;
  /**
   * Patch stride in latent cells (default half the native latent size, e.g. 64 for SDXL) of the windows that are
   * re-jittered every step: DemoFusion's, MultiDiffusion's, and AccDiffusion's with patch prompts off. With patch
   * prompts on, AccDiffusion's fixed windows always use half the window, as the reference builds them (spec B3),
   * and this option does not apply to them.
   */
  readonly stride?: number;
  /**
   * Windows per batch (default 16, the reference's view_batch_size). It decides results in one place only: the
   * dilated sub-latents of one batch are the ones window interaction permutes among. Memory does not depend on
   * it: UNet runs are split into chunks of at most 16 rows anyway.
   */
  readonly viewBatchSize?: number;
  /** Exponents of the cosine factor: skip residual (3), dilated weight (1), blur strength (1). */
  readonly cosineScale1?: number;
  readonly cosineScale2?: number;
  readonly cosineScale3?: number;
  /** Base std of the Gaussian blur before dilated sampling (default 0.8). */
  readonly sigma?: number;
  /** Patch-content-aware prompts (default on for accdiffusion). */
  readonly patchPrompts?: boolean;
  /** Window interaction in dilated sampling (default on for accdiffusion). */
  readonly windowInteraction?: boolean;
  /** Reproduce the reference code's scheduler input-scaling quirk (spec §9 B1) for replay. */
  readonly referenceCompat?: boolean;
  /**
   * Decode every stage's image (default false: only the final image is decoded, which keeps memory flat as
   * the target grows; the CLI turns this on for --save-stages).
   */
  readonly stageImages?: boolean;
  /** Initial latents [1,4,h,w] of the native-size pass, as diffusers' `latents=` (scaled by init_noise_sigma). */
  readonly initLatents?: Tensor;
  /**
   * A1111 emphasis syntax and prompts longer than 75 tokens in chunks (default true; see README "Prompt weighting
   * and long prompts"). false: the text is taken literally and cut at 77 tokens, as diffusers does.
   */
  readonly promptWeighting?: boolean;
  /** Most 75-token chunks per prompt when weighting (default 4 = 300 tokens); tokens past them are cut with a warning. */
  readonly maxPromptChunks?: number;
  /**
   * img2img (upscale): the user's 8-bit RGB image. The first pass starts from it instead of pure noise: it is
   * resized (Lanczos) to the first pass's size (the native canvas for accdiffusion/demofusion, the target for
   * the others), VAE-encoded (in tiles above the native size) and noised to the timestep `strength` keeps;
   * the stages after it run as in text-to-image. See docs/upscale.md.
   */
  readonly image?: RgbImage;
  /**
   * img2img strength in [0, 1], diffusers' meaning: the first pass runs int(steps · strength) of its steps,
   * starting from the input noised to the first of them (default 0.5, chosen by measurement on the bundled model,
   * docs/upscale.md; diffusers' own default is 0.8). Ignored without `image`.
   */
  readonly strength?: number;
  /**
   * Upscale only (default false): in every progressive stage the input is at least as large as, its own VAE
   * encoding at the stage's size replaces the upsampled previous stage as the skip-residual source (and the
   * stage's noised start). docs/upscale.md §3.1 has the measurement.
   */
  readonly inputResidual?: boolean;
  /**
   * Caller-supplied prompts of the patch windows of some or all upscaling stages (AccDiffusion with patch
   * prompts only), replacing the ones chosen from the native pass's masks; see window-prompts.ts.
   */
  readonly windowPrompts?: WindowPrompts;
}

/** Options with every default filled in and validated. */
export type ResolvedOptions = Required<Omit<GenerateOptions, 'initLatents' | 'negativePrompt' | 'scheduler' | 'image' | 'seed' | 'windowPrompts'>> & {
  /** A number up to 2^53 − 1, a bigint above (JSON writers use bigintAsString). */
  readonly seed: Seed;
  readonly windowPrompts?: WindowPrompts;
  readonly negativePrompt: string | null;
  readonly scheduler: SchedulerName | undefined;
  readonly initLatents: Tensor | undefined;
};
