/**
 * Sliding-window geometry for the patch (MultiDiffusion) branch and for the patch-content-aware
 * prompts: DemoFusion's `get_views` rule with its optional random jitter, and AccDiffusion's md-mode
 * views that live on the cross-attention grid and are scaled to latent cells.
 *
 * Ports: DemoFusion `pipeline_demofusion_sdxl.py` `get_views`; AccDiffusion `utils.py` `get_views` and
 * the view part of `get_multidiffusion_prompts`; spec §3.3, §4.1, §9 (B3, B11), §13.7.
 *
 * Jitter replay order (matters to reproduce a recorded run): views are visited in row-major order
 * (view i has row i // nW, column i % nW); for each view the WIDTH jitter is drawn first and the
 * HEIGHT jitter second, and an axis on which the view spans the whole extent draws nothing.
 * Bounds per axis: interior view [−jr, jr]; touching only the start edge [−jr, 0]; touching only the
 * end edge [0, jr]. Every coordinate is then shifted by +jr into the jitter-padded frame.
 */
import { OptionsError } from '../errors.js';
import type { RandInt } from '../tensor/random.js';

/** A window [hStart, hEnd) × [wStart, wEnd), named as in the reference tuples. */
export interface View {
  readonly hStart: number;
  readonly hEnd: number;
  readonly wStart: number;
  readonly wEnd: number;
}

export type { RandInt };

/** Views plus the padding their coordinates assume (0 on an axis without jitter). */
export interface ViewSet {
  readonly views: View[];
  /** Padding added on each side of the height axis (coordinates are in the padded frame). */
  readonly jitterHeight: number;
  /** Padding added on each side of the width axis. */
  readonly jitterWidth: number;
}

export interface GetViewsOptions {
  /** Extent to cover (latent cells, or attention cells for md views). */
  readonly height: number;
  readonly width: number;
  /** Window size; a number means a square window. */
  readonly window: number | readonly [number, number];
  /** Stride between window starts; may be fractional (the md rule uses window/2). */
  readonly stride: number | readonly [number, number];
  /** Jitter source; when absent the views are the plain unpadded grid. */
  readonly randint?: RandInt;
}

function pair(v: number | readonly [number, number]): [number, number] {
  return typeof v === 'number' ? [v, v] : [v[0], v[1]];
}

/** Windows per axis: floor((E − w)/d − 1e-6) + 2 when E > w, else 1 (DemoFusion). */
export function numBlocks(extent: number, window: number, stride: number): number {
  return extent > window ? Math.trunc((extent - window) / stride - 1e-6) + 2 : 1;
}

/** The reference jitter range (window − stride) // 4, floor division as in Python (works for fractional stride). */
export function jitterRange(window: number, stride: number): number {
  return Math.floor((window - stride) / 4);
}

/** Start/end of view k on one axis before jitter: k·d, shifted back to end at the extent, then clamped at 0. */
function axisSpan(k: number, extent: number, window: number, stride: number): [number, number] {
  let start = Math.trunc(k * stride);
  let end = start + window;
  if (end > extent) {
    start = Math.trunc(start + extent - end);
    end = extent;
  }
  if (start < 0) {
    end -= start;
    start = 0;
  }
  return [start, end];
}

function drawJitter(randint: RandInt, start: number, end: number, extent: number, jr: number): number {
  const atStart = start === 0;
  const atEnd = end === extent;
  if (!atStart && !atEnd) return randint(-jr, jr);
  if (atStart && !atEnd) return randint(-jr, 0);
  if (!atStart && atEnd) return randint(0, jr);
  return 0;
}

/**
 * DemoFusion `get_views`: row-major windows covering height×width; with `randint`, each view is jittered
 * (order documented in the file header) and expressed in the frame padded by the jitter range.
 */
export function getViews(opts: GetViewsOptions): ViewSet {
  const { height, width, randint } = opts;
  const [winH, winW] = pair(opts.window);
  const [strideH, strideW] = pair(opts.stride);
  for (const [name, v] of [['height', height], ['width', width], ['window', winH], ['window', winW]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new OptionsError(`getViews: ${name} must be a positive integer, got ${v}`);
  }
  if (!(strideH > 0) || !(strideW > 0)) throw new OptionsError(`getViews: stride must be positive, got ${opts.stride}`);
  const jrH = randint ? Math.max(0, jitterRange(winH, strideH)) : 0;
  const jrW = randint ? Math.max(0, jitterRange(winW, strideW)) : 0;
  // A window larger than the extent would overrun it (the reference crashes there); shrink it to the
  // extent, which leaves one unjittered view on that axis. The padding keeps the unclamped jitter range.
  const wh = Math.min(winH, height);
  const ww = Math.min(winW, width);
  const nH = numBlocks(height, wh, strideH);
  const nW = numBlocks(width, ww, strideW);
  const views: View[] = [];
  for (let i = 0; i < nH * nW; i++) {
    let [hStart, hEnd] = axisSpan(Math.floor(i / nW), height, wh, strideH);
    let [wStart, wEnd] = axisSpan(i % nW, width, ww, strideW);
    if (randint) {
      // Width first, then height: the reference's draw order.
      const wJ = drawJitter(randint, wStart, wEnd, width, jrW);
      const hJ = drawJitter(randint, hStart, hEnd, height, jrH);
      hStart += hJ + jrH;
      hEnd += hJ + jrH;
      wStart += wJ + jrW;
      wEnd += wJ + jrW;
    }
    views.push({ hStart, hEnd, wStart, wEnd });
  }
  return { views, jitterHeight: jrH, jitterWidth: jrW };
}

/** Views as the reference's (h_start, h_end, w_start, w_end) tuples. */
export function viewTuple(v: View): [number, number, number, number] {
  return [v.hStart, v.hEnd, v.wStart, v.wEnd];
}

/** A view from a (h_start, h_end, w_start, w_end) tuple. */
export function viewFromTuple(t: readonly number[]): View {
  if (t.length !== 4) throw new RangeError(`viewFromTuple: need 4 numbers, got ${t.length}`);
  return { hStart: t[0]!, hEnd: t[1]!, wStart: t[2]!, wEnd: t[3]! };
}

/** Multiplies every coordinate (attention cells → latent cells). */
export function scaleView(v: View, f: number): View {
  return { hStart: v.hStart * f, hEnd: v.hEnd * f, wStart: v.wStart * f, wEnd: v.wEnd * f };
}

/**
 * The md-mode views of one stage (§3.3): a grid of `cell`-sized units over the stage latent, windows of
 * the base latent size, stride = window/2, jitter (window − stride)//4 — all in grid units — and the
 * same views in latent cells of the latent padded by `latentJitter` on every side.
 */
export interface MdViewPlan {
  /** Latent cells per grid cell: 4 (attention resolution, pixel/32) or 1 (fallback, see mdViews). */
  readonly cell: number;
  readonly gridHeight: number;
  readonly gridWidth: number;
  /** Window size on the grid (square: the base latent / cell). */
  readonly window: number;
  /** Jitter padding on the grid, per side. */
  readonly jitter: number;
  /** Views in padded grid coordinates. */
  readonly views: View[];
  /** Views × cell: coordinates in the latent padded by latentJitter. */
  readonly latentViews: View[];
  readonly latentJitter: number;
}

export interface MdViewsOptions {
  /** Stage latent size. */
  readonly latentHeight: number;
  readonly latentWidth: number;
  /** UNet native latent size (`unet.config.sample_size`): 128 SDXL, 96 SD2, 64 SD1.5, 32 tiny. */
  readonly baseLatent: number;
  /** Latent cells per attention cell; 4 for the 1/32-pixel maps of SD/SDXL with a factor-8 VAE. */
  readonly attentionCell?: number;
  readonly randint?: RandInt;
}

/**
 * md-mode views on the attention grid (reference: stride = window/2 regardless of `--stride`, which fixes
 * B3 by construction because the caller pads the latent by `latentJitter`, not by (base − stride)//4).
 * When the stage latent or the base is not a multiple of the attention cell (possible only for targets
 * that are not multiples of the native size), the grid falls back to latent cells (cell = 1) so that the
 * views still tile the latent exactly; the caller then upsamples the masks to that finer grid.
 */
export function mdViews(opts: MdViewsOptions): MdViewPlan {
  const a = opts.attentionCell ?? 4;
  const aligned = opts.latentHeight % a === 0 && opts.latentWidth % a === 0 && opts.baseLatent % a === 0;
  const cell = aligned ? a : 1;
  const gridHeight = opts.latentHeight / cell;
  const gridWidth = opts.latentWidth / cell;
  const window = opts.baseLatent / cell;
  const stride = window / 2;
  const set = getViews({ height: gridHeight, width: gridWidth, window, stride, randint: opts.randint });
  const jitter = set.jitterHeight;
  return {
    cell,
    gridHeight,
    gridWidth,
    window,
    jitter,
    views: set.views,
    latentViews: set.views.map((v) => scaleView(v, cell)),
    latentJitter: jitter * cell,
  };
}

/** getViews(...).views.length without building the views (a 65536² plan has millions): a window wider than the extent shrinks to it. */
export function viewCount(height: number, width: number, window: number, stride: number): number {
  return numBlocks(height, Math.min(window, height), stride) * numBlocks(width, Math.min(window, width), stride);
}

/** mdViews(...).views.length: the attention grid (latent cells when not aligned to it), window base/cell, stride half of it. */
export function mdViewCount(latentHeight: number, latentWidth: number, baseLatent: number, attentionCell: number): number {
  const aligned = latentHeight % attentionCell === 0 && latentWidth % attentionCell === 0 && baseLatent % attentionCell === 0;
  const cell = aligned ? attentionCell : 1;
  const window = baseLatent / cell;
  return viewCount(latentHeight / cell, latentWidth / cell, window, window / 2);
}

/** A window in latent cells of one stage's latent (un-padded coordinates; may extend past the edges by the jitter margin). */
export interface Window {
  readonly top: number;
  readonly left: number;
  readonly height: number;
  readonly width: number;
}
