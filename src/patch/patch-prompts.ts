/**
 * Patch-content-aware prompts: from the phase-1 cross-attention map, decide per md view which prompt
 * pieces ("words") describe that patch, and build each view's sub-prompt.
 *
 * Ports: AccDiffusion `utils.py` `get_multidiffusion_prompts` (mask, opening, ratio test, prompt join);
 * spec §3.1–§3.3, §9 (B2, B5), §13.3–§13.6.
 *
 * Steps per piece j (key column j+1; BOS = column 0 and EOS are never considered):
 * 1. binary mask = map_j > mean(map_j) (strict, float32 comparison as in the reference);
 * 2. opening with a 3×3 element, k iterations each (k = max(h1, w1) // 16; erosion ignores outside pixels,
 *    dilation too — OpenCV's default borders);
 * 3. per stage: nearest-upsample to the stage's view grid, zero-pad by the views' jitter, and for each
 *    view r = on-cells inside the view / view area; keep the piece iff r ≥ c;
 * 4. the view's prompt = kept piece texts in prompt order joined by single spaces ("" if none).
 *
 * `referenceCompat` reproduces B2 (non-square phase 1): the map is read as (w1, h1) rows/cols, stretched to
 * (h1·s, w1·s), padded by (h1 − h1/2)//4 and divided by h1·w1; views reaching past the mask are clipped like
 * numpy slices. Square maps give identical results in both modes.
 */
import { OptionsError } from '../errors.js';
import { opening, resizeNearestPlane } from '../tensor/ops.js';
import type { MdViewPlan, View } from './views.js';

/** One prompt piece's opened binary mask at attention resolution. */
export interface TokenMask {
  /** Key column of the attention map (1-based position in the tokenised prompt). */
  readonly column: number;
  readonly text: string;
  /** Mask rows × cols (h1 × w1; w1 × h1 in referenceCompat mode). */
  readonly height: number;
  readonly width: number;
  /** 0/1 values, row-major. */
  readonly mask: Uint8Array;
}

export interface StagePrompts {
  readonly scale: number;
  /** Views on the padded grid (as given) and in padded latent cells. */
  readonly views: View[];
  readonly latentViews: View[];
  /** One prompt per view. */
  readonly prompts: string[];
  /** ratios[v][j]: on-fraction of piece j inside view v. */
  readonly ratios: Float64Array[];
}

export interface PatchPromptsResult {
  readonly masks: TokenMask[];
  readonly stages: StagePrompts[];
}

export interface PatchPromptsOptions {
  /** Aggregated cross-attention, [h1·w1, numKeys] row-major with query q = row·w1 + col. */
  readonly attention: Float32Array;
  readonly attentionHeight: number;
  readonly attentionWidth: number;
  /** Texts of the prompt pieces p_1..p_m (BOS/EOS excluded); piece j reads key column j+1. */
  readonly pieces: readonly string[];
  /**
   * Key columns of each piece when they are not j+1: a word of several BPE pieces, or a chunked prompt
   * (prompts/prompt-words.ts). The piece's map is the mean of its columns. No 75-piece cut applies then.
   */
  readonly pieceColumns?: readonly (readonly number[])[];
  /** Ratio threshold, a share of the window in [0, 1] (checked by resolveOptions; reference default 0.3). */
  readonly c: number;
  /** md views per stage (from views.ts `mdViews`). */
  readonly stages: readonly { readonly scale: number; readonly plan: MdViewPlan }[];
  /** Erosion/dilation iterations; default max(h1, w1) // 16. */
  readonly openingIterations?: number;
  /** Reproduce the reference's non-square bug B2 (see file header). */
  readonly referenceCompat?: boolean;
}

/** Mask of a float32 map: 1 where value > mean (mean rounded to float32 like torch's). */
export function thresholdMask(map: Float32Array): Uint8Array {
  let s = 0;
  for (let i = 0; i < map.length; i++) s += map[i]!;
  const m = Math.fround(s / map.length);
  return Uint8Array.from(map, (v) => (v > m ? 1 : 0));
}

/** Column `col` of a [rows, keys] row-major matrix. */
function column(att: Float32Array, rows: number, keys: number, col: number): Float32Array {
  const out = new Float32Array(rows);
  for (let q = 0; q < rows; q++) out[q] = att[q * keys + col]!;
  return out;
}

/** Mean of several columns (a word's pieces), float32 like a torch mean of float32 maps. */
function meanColumn(att: Float32Array, rows: number, keys: number, cols: readonly number[]): Float32Array {
  const out = new Float32Array(rows);
  for (let q = 0; q < rows; q++) {
    let s = 0;
    for (const c of cols) s += att[q * keys + c]!;
    out[q] = s / cols.length;
  }
  return out;
}

/** Summed-area table of a padded h×w 0/1 grid: sat[(y)(w+1)+x] = on-count of [0,y)×[0,x). */
function summedArea(mask: Uint8Array, h: number, w: number, pad: number): { sat: Int32Array; H: number; W: number } {
  const H = h + 2 * pad;
  const W = w + 2 * pad;
  const sat = new Int32Array((H + 1) * (W + 1));
  for (let y = 0; y < H; y++) {
    let row = 0;
    for (let x = 0; x < W; x++) {
      const yy = y - pad, xx = x - pad;
      if (yy >= 0 && yy < h && xx >= 0 && xx < w) row += mask[yy * w + xx]!;
      sat[(y + 1) * (W + 1) + x + 1] = sat[y * (W + 1) + x + 1]! + row;
    }
  }
  return { sat, H, W };
}

/** On-count inside a view, with numpy-slice clipping to the padded grid. */
function countIn(t: { sat: Int32Array; H: number; W: number }, v: View): number {
  const clip = (a: number, n: number): number => Math.min(Math.max(a, 0), n);
  const y0 = clip(v.hStart, t.H), y1 = Math.max(y0, clip(v.hEnd, t.H));
  const x0 = clip(v.wStart, t.W), x1 = Math.max(x0, clip(v.wEnd, t.W));
  const W1 = t.W + 1;
  return t.sat[y1 * W1 + x1]! - t.sat[y0 * W1 + x1]! - t.sat[y1 * W1 + x0]! + t.sat[y0 * W1 + x0]!;
}

/** Joins kept texts like the reference (' '.join, then split on whitespace and re-join). */
function joinPieces(texts: readonly string[]): string {
  return texts.join(' ').split(/\s+/).filter((p) => p.length > 0).join(' ');
}

/** Per-stage, per-view patch prompts and the per-piece masks (see file header). */
export function patchPrompts(opts: PatchPromptsOptions): PatchPromptsResult {
  const h1 = opts.attentionHeight;
  const w1 = opts.attentionWidth;
  const q = h1 * w1;
  if (!Number.isInteger(h1) || !Number.isInteger(w1) || q === 0 || opts.attention.length % q !== 0) {
    throw new OptionsError(`patchPrompts: attention has ${opts.attention.length} values, not a multiple of ${h1}x${w1}`);
  }
  const keys = opts.attention.length / q;
  const compat = opts.referenceCompat === true;
  // B5: the reference indexes past the 77 keys for prompts over 75 pieces; keep what fits before EOS.
  const cols = opts.pieceColumns;
  if (cols && (cols.length !== opts.pieces.length || cols.some((c) => c.length === 0 || c.some((k) => !Number.isInteger(k) || k < 0 || k >= keys)))) {
    throw new OptionsError(`patchPrompts: pieceColumns must give ${opts.pieces.length} non-empty lists of key columns below ${keys}`);
  }
  const pieces = cols ? opts.pieces : opts.pieces.slice(0, Math.max(0, keys - 2));
  // In compat mode the (h1·w1) map is read as w1 rows of h1 columns (the reference's reshape).
  const mh = compat ? w1 : h1;
  const mw = compat ? h1 : w1;
  const iterations = opts.openingIterations ?? (compat ? Math.floor(mh / 16) : Math.floor(Math.max(h1, w1) / 16));

  const masks: TokenMask[] = pieces.map((text, j) => {
    const at = cols ? cols[j]! : [j + 1];
    const bin = thresholdMask(at.length === 1 ? column(opts.attention, q, keys, at[0]!) : meanColumn(opts.attention, q, keys, at));
    return { column: at[0]!, text, height: mh, width: mw, mask: opening(bin, mh, mw, iterations) };
  });

  const stages: StagePrompts[] = opts.stages.map(({ scale, plan }) => {
    let gh: number, gw: number, pad: number, area: ((v: View) => number);
    if (compat) {
      gh = h1 * scale;
      gw = w1 * scale;
      pad = Math.floor((h1 - h1 / 2) / 4);
      area = () => h1 * w1;
    } else {
      gh = plan.gridHeight;
      gw = plan.gridWidth;
      pad = plan.jitter;
      area = (v) => (v.hEnd - v.hStart) * (v.wEnd - v.wStart);
    }
    const tables = masks.map((m) => summedArea(resizeNearestPlane(m.mask, mh, mw, gh, gw), gh, gw, pad));
    const ratios: Float64Array[] = [];
    const prompts = plan.views.map((v) => {
      const r = new Float64Array(masks.length);
      const kept: string[] = [];
      for (let j = 0; j < masks.length; j++) {
        r[j] = countIn(tables[j]!, v) / area(v);
        if (r[j]! >= opts.c) kept.push(masks[j]!.text);
      }
      ratios.push(r);
      return joinPieces(kept);
    });
    return { scale, views: plan.views, latentViews: plan.latentViews, prompts, ratios };
  });
  return { masks, stages };
}

/**
 * Text of one BPE piece as the reference's single-token `tokenizer.decode` gives it for ASCII pieces:
 * the end-of-word marker becomes a space and the result is trimmed. (A real tokenizer's decodePiece
 * should be preferred; this is for pieces already in readable form.)
 */
export function pieceText(piece: string): string {
  return piece.replace(/<\/w>/g, ' ').trim();
}
