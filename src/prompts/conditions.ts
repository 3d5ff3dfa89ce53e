/**
 * Turns prompts into per-window CFG conditions: token embeddings (+ pooled embeddings and SDXL
 * micro-conditioning when the UNet takes them). Time ids follow the reference (spec §1.1): original and
 * target size are the final target, crop = the window's top-left in padded latent cells × VAE factor.
 */
import { LITERAL_MODE, type CachedPromptEncoder, type EncodeMode } from './prompt-encoder.js';
import type { GuidedCondition, RowCondition } from '../sampling/unet-runner.js';

export interface ConditionContext {
  readonly encoder: CachedPromptEncoder;
  /** Negative prompt; null = none (zeros where the model asks for them, else ""). */
  readonly negativePrompt: string | null;
  /**
   * diffusers' `do_classifier_free_guidance` (guidance_scale > 1): false leaves the negative out of every
   * condition (not even encoded), so every branch runs one UNet row per window.
   */
  readonly classifierFreeGuidance: boolean;
  /** The UNet takes text_embeds and time_ids. */
  readonly textTime: boolean;
  /** Final target size in pixels (original_size = target_size). */
  readonly targetHeight: number;
  readonly targetWidth: number;
  /** How prompts are read and how many 77-token chunks each has (default LITERAL_MODE, diffusers' way). */
  readonly promptMode?: EncodeMode;
}

function rows(embeds: Float32Array, pooled: Float32Array | undefined, b: number, rowLen: number, pooledLen: number): Omit<RowCondition, 'timeIds'> {
  return {
    embeds: embeds.subarray(b * rowLen, (b + 1) * rowLen),
    ...(pooled ? { pooled: pooled.subarray(b * pooledLen, (b + 1) * pooledLen) } : {}),
  };
}

/**
 * One GuidedCondition per entry of `prompts`; `crops[k]` is window k's crop offset in pixels
 * ([0, 0] for the native pass and the dilated branch). `source` 'window' marks prompts AccDiffusion built
 * (a cut is counted, not blamed on the user; see EncodeMode.source).
 */
export async function guidedConditions(ctx: ConditionContext, prompts: readonly string[], crops: ReadonlyArray<readonly [number, number]>, source: 'user' | 'window' = 'user'): Promise<GuidedCondition[]> {
  const mode: EncodeMode = { ...(ctx.promptMode ?? LITERAL_MODE), source };
  // The encoder's cache already encodes each distinct prompt once; asking it for distinct prompts only also
  // holds each once, its windows sharing the rows: a 225-window SDXL stage would otherwise hold 225 copies of
  // 77 × 2048 floats (142 MiB) where a few dozen prompts differ.
  const distinct = [...new Set(prompts)];
  const rowOf = new Map(distinct.map((p, i) => [p, i]));
  const pos = await ctx.encoder.encode(distinct, undefined, mode);
  const neg = ctx.classifierFreeGuidance ? await ctx.encoder.encodeNegative(1, ctx.negativePrompt === null ? undefined : [ctx.negativePrompt], undefined, { ...mode, source: 'negative' }) : undefined;
  const rowLen = mode.chunks * ctx.encoder.seqLen * ctx.encoder.embedDim;
  const pooledLen = ctx.encoder.pooledDim ?? 0;
  const negative = neg ? rows(neg.promptEmbeds.data, neg.pooled?.data, 0, rowLen, pooledLen) : undefined;
  return prompts.map((_, k) => {
    const [top, left] = crops[k]!;
    const timeIds = ctx.textTime ? [ctx.targetHeight, ctx.targetWidth, top, left, ctx.targetHeight, ctx.targetWidth] : undefined;
    const withIds = (r: Omit<RowCondition, 'timeIds'>): RowCondition => (timeIds ? { ...r, timeIds } : r);
    const positive = withIds(rows(pos.promptEmbeds.data, pos.pooled?.data, rowOf.get(prompts[k]!)!, rowLen, pooledLen));
    return negative ? { negative: withIds(negative), positive } : { positive };
  });
}
