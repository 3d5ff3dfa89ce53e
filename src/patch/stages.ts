/**
 * Stage bookkeeping for progressive upscaling: the phase-1 size and the size and dilation factor of
 * every later stage, for any target that is a multiple of the VAE factor.
 *
 * Ports: AccDiffusion `accdiffusion_sdxl.py` `__call__` (scale_num, aspect_ratio, prepare_latents at
 * height // scale_num, the `current_height/current_width` loop); spec §1.2, §1.3, §13.14.
 *
 * Rule (identical to the reference for the targets it accepts, a generalisation otherwise):
 * - B = native latent size (`unet.config.sample_size`), f = VAE factor, target latent (Ht, Wt) = (H/f, W/f),
 *   L = max(Ht, Wt). S = ceil(L / B) ("scale_num"; = L/B for multiples of B).
 * - S = 1 (target not larger than native): phase 1 renders the target itself and there are no stages.
 * - Every stage keeps the target's aspect ratio, rounded once: a stage with long side ℓ latent cells has short
 *   side round(short_t · ℓ / L) (at least 1), where short_t is the target's short latent side. So every stage
 *   is within half a latent cell of the target's ratio, and no stage is taller or wider than the target's
 *   shape allows (issue 11.5: rounding each stage's short side down to a multiple of 8·s drifted by up to
 *   ~10%, and could make a stage's short side exceed the target's).
 * - Phase 1: long side B, orientation kept. The reference's (H//S, W//S) is the same thing for multiples of B.
 * - Stages s = 2..S (only S without progressive upscaling). Stage S is exactly the target. An earlier
 *   stage s has long side B·s; for the reference's targets (long side a multiple of B, short side a multiple
 *   of S latent cells) its short side is exactly the reference's floor(B·f·s·ar)/f. A stage side that is not a multiple of s or of the attention cell is
 *   handled as the final stage's always was: dilated sampling pads to a multiple of s, and the windows fall
 *   back to latent cells (views.ts mdViews).
 * - The dilation factor of a stage is s (also for a final stage whose ratio to B is fractional: its
 *   sub-latents are then ceil(side/S) ≤ B).
 */
import { OptionsError } from '../errors.js';

export interface StageSize {
  /** Dilation factor / stage number: 1 for phase 1, then 2..S. */
  readonly scale: number;
  readonly latentHeight: number;
  readonly latentWidth: number;
  /** Pixel size = latent size × VAE factor. */
  readonly height: number;
  readonly width: number;
}

export interface StagePlan {
  /** ceil(max latent side / native latent side), at least 1. */
  readonly scaleNum: number;
  /** short side / long side of the target (≤ 1). */
  readonly aspectRatio: number;
  readonly phase1: StageSize;
  /** The upscaling stages in order; the last one is exactly the target (empty when scaleNum = 1). */
  readonly stages: StageSize[];
}

export interface PlanStagesOptions {
  /** Target size in pixels; positive multiples of vaeScaleFactor. */
  readonly height: number;
  readonly width: number;
  /** UNet native latent size (`sample_size`): 128 SDXL, 96 SD2.x, 64 SD1.x, 32 tiny test models. */
  readonly baseLatent: number;
  /** VAE downsampling factor (8 for SD/SDXL). */
  readonly vaeScaleFactor?: number;
  /** false = jump directly from phase 1 to the target (reference `use_progressive_upscaling`). */
  readonly progressive?: boolean;
}

function size(scale: number, latentHeight: number, latentWidth: number, f: number): StageSize {
  return { scale, latentHeight, latentWidth, height: latentHeight * f, width: latentWidth * f };
}


/** Phase-1 and stage sizes for a target (see the rule in the file header). */
export function planStages(opts: PlanStagesOptions): StagePlan {
  const f = opts.vaeScaleFactor ?? 8;
  const { height, width, baseLatent: base } = opts;
  for (const [name, v] of [['height', height], ['width', width]] as const) {
    if (!Number.isInteger(v) || v <= 0 || v % f !== 0) {
      throw new OptionsError(`${name} must be a positive multiple of ${f} px, got ${v}`);
    }
  }
  if (!Number.isInteger(base) || base < 1) throw new OptionsError(`baseLatent must be a positive integer, got ${base}`);

  const ht = height / f;
  const wt = width / f;
  const long = Math.max(ht, wt);
  const scaleNum = Math.max(1, Math.ceil(long / base));
  // Same float operations as the reference (height/x1, width/x1, min/max) so truncations agree.
  const basePx = base * f;
  const hs = height / basePx;
  const ws = width / basePx;
  const aspectRatio = Math.min(hs, ws) / Math.max(hs, ws);
  const portrait = height > width;

  if (scaleNum === 1) return { scaleNum, aspectRatio, phase1: size(1, ht, wt, f), stages: [] };

  // the short side of a stage whose long side is `longS` cells: the target's ratio, rounded once
  const shortT = Math.min(ht, wt);
  const shortOf = (longS: number): number => Math.min(longS, Math.max(1, Math.round((shortT * longS) / long)));
  const shortP1 = shortOf(base);
  const phase1 = portrait ? size(1, base, shortP1, f) : size(1, shortP1, base, f);

  const stages: StageSize[] = [];
  const first = opts.progressive === false ? scaleNum : 2;
  for (let s = first; s <= scaleNum; s++) {
    if (s === scaleNum) {
      stages.push(size(s, ht, wt, f));
      continue;
    }
    const longS = base * s;
    const shortS = shortOf(longS);
    stages.push(portrait ? size(s, longS, shortS, f) : size(s, shortS, longS, f));
  }
  return { scaleNum, aspectRatio, phase1, stages };
}
