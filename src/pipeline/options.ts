/**
 * GenerateOptions: what a caller asks for, with the AccDiffusion reference defaults
 * (spec §8.1, "full AccDiffusion" README flags), and their validation into ResolvedOptions.
 */
import { OptionsError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkWindowPromptsShape, type WindowPrompts } from './window-prompts.js';

export const METHODS = ['accdiffusion', 'demofusion', 'multidiffusion', 'direct', 'attn-sf', 'scalecrafter'] as const;
export type Method = (typeof METHODS)[number];

export const SCHEDULERS = ['ddim', 'euler'] as const;
export type SchedulerName = (typeof SCHEDULERS)[number];

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
  readonly seed?: number;
  /** Scheduler override; default: the model's scheduler_config.json. */
  readonly scheduler?: SchedulerName;
  /** Ratio threshold for a word to enter a patch prompt (default 0.3). */
  readonly c?: number;
  /** Patch stride in latent cells (default half the native latent size, e.g. 64 for SDXL). */
  readonly stride?: number;
  /** Windows per UNet batch (default 16). */
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
   * Caller-supplied prompts of the patch windows of some or all upscaling stages (AccDiffusion with patch
   * prompts only), replacing the ones chosen from the native pass's masks; see window-prompts.ts.
   */
  readonly windowPrompts?: WindowPrompts;
}

/** Options with every default filled in and validated. */
export type ResolvedOptions = Required<Omit<GenerateOptions, 'initLatents' | 'negativePrompt' | 'scheduler' | 'windowPrompts'>> & {
  readonly windowPrompts?: WindowPrompts;
  readonly negativePrompt: string | null;
  readonly scheduler: SchedulerName | undefined;
  readonly initLatents: Tensor | undefined;
};

function check(cond: boolean, message: string): void {
  if (!cond) throw new OptionsError(message);
}

/**
 * Fills defaults and validates. `nativeLatent` is the model's native latent size (UNet sample_size),
 * used for the default stride.
 */
export function resolveOptions(o: GenerateOptions, nativeLatent: number): ResolvedOptions {
  check(typeof o.prompt === 'string', 'prompt must be a string');
  const method = o.method ?? 'accdiffusion';
  check((METHODS as readonly string[]).includes(method), `unknown method "${method}" (choose ${METHODS.join(', ')})`);
  for (const [name, v] of [['width', o.width], ['height', o.height]] as const) {
    check(Number.isInteger(v) && v > 0, `${name} must be a positive integer number of pixels, got ${v}`);
    check(v % 8 === 0, `${name} ${v} is not a multiple of 8`);
  }
  const steps = o.steps ?? 50;
  check(Number.isInteger(steps) && steps > 0, `steps must be a positive integer, got ${steps}`);
  const scheduler = o.scheduler;
  check(scheduler === undefined || (SCHEDULERS as readonly string[]).includes(scheduler), `unknown scheduler "${scheduler}" (choose ${SCHEDULERS.join(', ')})`);
  const num = (name: string, v: number | undefined, def: number, ok: (x: number) => boolean, what: string): number => {
    const x = v ?? def;
    check(typeof x === 'number' && Number.isFinite(x) && ok(x), `${name} must be ${what}, got ${x}`);
    return x;
  };
  const isAcc = method === 'accdiffusion';
  if (o.windowPrompts !== undefined) {
    checkWindowPromptsShape(o.windowPrompts, 'windowPrompts');
    check(isAcc && o.patchPrompts !== false, 'windowPrompts need method accdiffusion with patch prompts on');
  }
  const stride = num('stride', o.stride, Math.max(1, Math.floor(nativeLatent / 2)), (x) => Number.isInteger(x) && x > 0 && x <= nativeLatent, `an integer in 1..${nativeLatent} (latent cells)`);
  return {
    prompt: o.prompt,
    negativePrompt: o.negativePrompt === undefined ? REFERENCE_NEGATIVE_PROMPT : o.negativePrompt,
    width: o.width,
    height: o.height,
    method,
    steps,
    guidance: num('guidance', o.guidance, 7.5, () => true, 'a number'),
    multiGuidance: num('multiGuidance', o.multiGuidance, 7.5, () => true, 'a number'),
    guidanceRescale: num('guidanceRescale', o.guidanceRescale, 0, (x) => x >= 0 && x <= 1, 'in [0, 1]'),
    seed: num('seed', o.seed, 42, (x) => Number.isInteger(x) && x >= 0 && x <= Number.MAX_SAFE_INTEGER, 'a non-negative integer'),
    scheduler,
    c: num('c', o.c, 0.3, (x) => x >= 0, 'a non-negative number'),
    stride,
    viewBatchSize: num('viewBatchSize', o.viewBatchSize, 16, (x) => Number.isInteger(x) && x > 0, 'a positive integer'),
    cosineScale1: num('cosineScale1', o.cosineScale1, 3, (x) => x >= 0, 'a non-negative number'),
    cosineScale2: num('cosineScale2', o.cosineScale2, 1, (x) => x >= 0, 'a non-negative number'),
    cosineScale3: num('cosineScale3', o.cosineScale3, 1, (x) => x >= 0, 'a non-negative number'),
    sigma: num('sigma', o.sigma, 0.8, (x) => x > 0, 'a positive number'),
    patchPrompts: o.patchPrompts ?? isAcc,
    windowInteraction: o.windowInteraction ?? isAcc,
    referenceCompat: o.referenceCompat ?? false,
    stageImages: o.stageImages ?? false,
    initLatents: o.initLatents,
    ...(o.windowPrompts !== undefined ? { windowPrompts: o.windowPrompts } : {}),
  };
}
