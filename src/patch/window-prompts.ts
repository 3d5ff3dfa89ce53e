/**
 * Caller-supplied window prompts (issue 15, "steer it"): AccDiffusion picks each patch window's prompt from
 * the native pass's cross-attention masks (patch-prompts.ts, paper §3.2); a caller may replace the prompts
 * of any stage, either up front (GenerateOptions.windowPrompts, the CLI's --window-prompts FILE.json) or
 * after seeing the native pass (GenerateContext.reviewWindowPrompts, which the web page uses). Either way
 * the prompts used are recorded in the report's options, so a run can be repeated from the CLI.
 */
import { OptionsError } from '../errors.js';
import type { View } from './views.js';
import type { RgbImage } from '../tensor/rgb-image.js';
import type { Window } from './views.js';

/** The windows and prompts of one AccDiffusion stage (fixed for the whole stage); views in padded latent cells, padding in latent cells. */
export interface StageWindows {
  readonly views: readonly View[];
  readonly padding: number;
  readonly prompts: readonly string[];
}

/**
 * Window prompts per upscaling stage: key = the stage number as a string ("2", "3", ...; stage 1 is the
 * native pass and has no windows), value = one prompt per window of that stage, in the order of
 * StageResult.windows (row-major over the stage's latent, as diffusers' DemoFusion get_views).
 */
export type WindowPrompts = Readonly<Record<string, readonly string[]>>;

/** What the native pass decided, handed to GenerateContext.reviewWindowPrompts before the upscaling stages. */
export interface WindowPromptsReview {
  /** The native pass's image (decoded for the review), its size in pixels. */
  readonly nativeImage: RgbImage;
  /** Per-token masks at the attention-map resolution. */
  readonly masks: readonly TokenMask[];
  /** Every upscaling stage: its size in pixels and latent cells, its windows (latent cells) and their prompts. */
  readonly stages: ReadonlyArray<{
    readonly stage: number;
    readonly latentWidth: number;
    readonly latentHeight: number;
    readonly windows: readonly Window[];
    readonly prompts: readonly string[];
  }>;
}

/** Longest accepted window prompt, in characters (the text encoders cut at 77 tokens anyway). */
export const MAX_WINDOW_PROMPT_CHARS = 2000;

/**
 * Checks that `value` is a WindowPrompts object (stage keys of digits, arrays of strings); throws
 * OptionsError naming `what` (e.g. the CLI flag) otherwise. Window counts are checked later, against the run.
 */
export function checkWindowPromptsShape(value: unknown, what: string): WindowPrompts {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new OptionsError(`${what} must be an object of stage → list of window prompts, e.g. {"2": ["a red circle", ...]}`);
  }
  for (const [key, prompts] of Object.entries(value)) {
    if (!/^[1-9]\d{0,2}$/.test(key)) throw new OptionsError(`${what}: "${key}" is not a stage number`);
    if (!Array.isArray(prompts) || prompts.some((p) => typeof p !== 'string' || p.length > MAX_WINDOW_PROMPT_CHARS)) {
      throw new OptionsError(`${what}: stage ${key} must be a list of strings (at most ${MAX_WINDOW_PROMPT_CHARS} characters each)`);
    }
  }
  return value as WindowPrompts;
}

/**
 * Replaces the prompts of the stages named in `override` in place. Throws OptionsError when a stage has no
 * windows in this run or the number of prompts differs from the number of windows.
 */
export function applyWindowPrompts(stageWindows: Map<number, StageWindows>, override: WindowPrompts, what = 'windowPrompts'): void {
  for (const [key, prompts] of Object.entries(checkWindowPromptsShape(override, what))) {
    const stage = Number(key);
    const sw = stageWindows.get(stage);
    if (!sw) {
      const have = [...stageWindows.keys()].join(', ') || 'none (only accdiffusion with patch prompts has window prompts)';
      throw new OptionsError(`${what}: this run has no windows at stage ${stage} (stages with windows: ${have})`);
    }
    if (prompts.length !== sw.views.length) {
      throw new OptionsError(`${what}: stage ${stage} has ${sw.views.length} windows, got ${prompts.length} prompts`);
    }
    stageWindows.set(stage, { ...sw, prompts: [...prompts] });
  }
}

/** Every stage's current prompts, as a WindowPrompts value. */
export function currentWindowPrompts(stageWindows: Map<number, StageWindows>): WindowPrompts {
  return Object.fromEntries([...stageWindows].map(([stage, sw]) => [String(stage), [...sw.prompts]]));
}

/** Windows of a stage in un-padded latent cells (the StageResult.windows form). */
export function stageWindowRects(sw: StageWindows): Window[] {
  return sw.views.map((v) => ({ top: v.hStart - sw.padding, left: v.wStart - sw.padding, height: v.hEnd - v.hStart, width: v.wEnd - v.wStart }));
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
