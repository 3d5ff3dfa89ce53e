/**
 * Tile geometry and blend weights for processing a large latent in overlapping tiles (tiled VAE decode)
 * and, more generally, for averaging any set of overlapping rectangles (MultiDiffusion patch views).
 *
 * Ports the idea of diffusers `AutoencoderKL.tiled_decode` (`blend_v` / `blend_h`: linear cross-fade
 * y/e and 1 − y/e over the overlap) and of MultiDiffusion's value/count average; spec §4.2, §7, §13.8,
 * §13.17. Our tiles all have the full tile size (the last one on an axis is shifted back to end at the
 * extent, as in DemoFusion's `get_views`), so one decoder input shape serves every tile.
 *
 * Weights are normalised so that at every output position the weights of the tiles covering it sum
 * to 1: 'linear' gives a linear cross-fade across each overlap (exactly diffusers' ramp when neighbours
 * overlap by the blend extent), 'uniform' gives 1/count (MultiDiffusion's plain average).
 */
import { tensor, type Tensor } from '../tensor/tensor.js';

export type BlendMode = 'linear' | 'uniform';

/** One tile along an axis: input [start, start+size) and its per-output-position weights (size·scale). */
export interface AxisTile {
  readonly start: number;
  readonly size: number;
  readonly weights: Float32Array;
}

/** A 2-D tile: input rectangle (e.g. latent cells) and output rectangle (×scale, e.g. pixels). */
export interface Tile {
  readonly row: number;
  readonly col: number;
  readonly top: number;
  readonly left: number;
  readonly height: number;
  readonly width: number;
  readonly outTop: number;
  readonly outLeft: number;
  readonly outHeight: number;
  readonly outWidth: number;
}

export interface TilePlan {
  readonly height: number;
  readonly width: number;
  readonly scale: number;
  readonly outHeight: number;
  readonly outWidth: number;
  readonly rows: AxisTile[];
  readonly cols: AxisTile[];
  /** Row-major tiles; tile (r, c) has weight rows[r].weights ⊗ cols[c].weights. */
  readonly tiles: Tile[];
}

export interface PlanTilesOptions {
  /** Extent to cover, in input cells. */
  readonly height: number;
  readonly width: number;
  /** Tile side in input cells (clamped to the extent). */
  readonly tileSize: number;
  /** Minimum overlap between neighbouring tiles in input cells (< tileSize). */
  readonly overlap: number;
  /** Output cells per input cell (8 for a VAE decode, 1 for latent-space blending). */
  readonly scale?: number;
  readonly blend?: BlendMode;
}

/** Tile starts along one axis: stride tile − overlap, last tile shifted back to end at the extent. */
export function tileStarts(extent: number, tile: number, overlap: number): number[] {
  const t = Math.min(tile, extent);
  if (t === extent) return [0];
  const stride = t - overlap;
  const n = Math.ceil((extent - t) / stride) + 1;
  const starts: number[] = [];
  for (let k = 0; k < n; k++) starts.push(Math.min(k * stride, extent - t));
  return starts;
}

/**
 * Raw (unnormalised) weight of output position p ∈ [0, len) of a segment: 1 inside, ramping linearly
 * towards an edge that has a neighbour (ramp = that overlap); edges on the extent border stay at 1.
 */
function rampWeight(p: number, len: number, rampStart: number, rampEnd: number): number {
  let w = 1;
  if (rampStart > 0) w = Math.min(w, (p + 0.5) / rampStart);
  if (rampEnd > 0) w = Math.min(w, (len - p - 0.5) / rampEnd);
  return w;
}

/** Normalised per-tile weights along one axis (every output position's weights sum to 1). */
function axisTiles(extent: number, tile: number, overlap: number, scale: number, blend: BlendMode): AxisTile[] {
  const starts = tileStarts(extent, tile, overlap);
  const size = Math.min(tile, extent);
  const outLen = extent * scale;
  const raw = starts.map((s, k) => {
    const prevEnd = k > 0 ? starts[k - 1]! + size : s;
    const nextStart = k < starts.length - 1 ? starts[k + 1]! : s + size;
    const rs = blend === 'linear' ? Math.max(0, prevEnd - s) * scale : 0;
    const re = blend === 'linear' ? Math.max(0, s + size - nextStart) * scale : 0;
    const w = new Float64Array(size * scale);
    for (let p = 0; p < w.length; p++) w[p] = rampWeight(p, w.length, rs, re);
    return w;
  });
  const sum = new Float64Array(outLen);
  starts.forEach((s, k) => raw[k]!.forEach((v, p) => (sum[s * scale + p] += v)));
  return starts.map((s, k) => ({
    start: s,
    size,
    weights: Float32Array.from(raw[k]!, (v, p) => v / sum[s * scale + p]!),
  }));
}

/** A grid of equal-size overlapping tiles covering height × width, with separable blend weights. */
export function planTiles(opts: PlanTilesOptions): TilePlan {
  const scale = opts.scale ?? 1;
  const blend = opts.blend ?? 'linear';
  const { height, width, tileSize, overlap } = opts;
  for (const [name, v] of [['height', height], ['width', width], ['tileSize', tileSize], ['scale', scale]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`planTiles: ${name} must be a positive integer, got ${v}`);
  }
  if (!Number.isInteger(overlap) || overlap < 0 || overlap >= tileSize) {
    throw new RangeError(`planTiles: overlap must be an integer in [0, tileSize), got ${overlap}`);
  }
  const rows = axisTiles(height, tileSize, overlap, scale, blend);
  const cols = axisTiles(width, tileSize, overlap, scale, blend);
  const tiles: Tile[] = [];
  rows.forEach((r, ri) =>
    cols.forEach((c, ci) =>
      tiles.push({
        row: ri, col: ci, top: r.start, left: c.start, height: r.size, width: c.size,
        outTop: r.start * scale, outLeft: c.start * scale, outHeight: r.size * scale, outWidth: c.size * scale,
      }),
    ),
  );
  return { height, width, scale, outHeight: height * scale, outWidth: width * scale, rows, cols, tiles };
}

/**
 * Accumulates processed tiles ([N, C, outHeight, outWidth] each, in plan.tiles order) into the full
 * output with the plan's weights. Tiles may be passed one by one through `addTile` to bound memory.
 */
export class TileAccumulator {
  readonly output: Tensor;
  private readonly planes: number;

  constructor(readonly plan: TilePlan, batch: number, channels: number) {
    this.planes = batch * channels;
    this.output = tensor([batch, channels, plan.outHeight, plan.outWidth]);
  }

  addTile(index: number, tileOut: Tensor): void {
    const t = this.plan.tiles[index];
    if (!t) throw new RangeError(`TileAccumulator: no tile ${index}`);
    const oh = t.outHeight, ow = t.outWidth;
    if (tileOut.data.length !== this.planes * oh * ow) {
      throw new RangeError(`TileAccumulator: tile ${index} has shape [${tileOut.shape}], expected ${this.planes} planes of ${oh}x${ow}`);
    }
    const wy = this.plan.rows[t.row]!.weights;
    const wx = this.plan.cols[t.col]!.weights;
    const W = this.plan.outWidth, H = this.plan.outHeight;
    const out = this.output.data;
    for (let p = 0; p < this.planes; p++) {
      for (let y = 0; y < oh; y++) {
        const dst = p * H * W + (t.outTop + y) * W + t.outLeft;
        const src = p * oh * ow + y * ow;
        const a = wy[y]!;
        for (let x = 0; x < ow; x++) out[dst + x] += a * wx[x]! * tileOut.data[src + x]!;
      }
    }
  }
}

/** Rectangle [top, top+height) × [left, left+width). */
export interface Rect {
  readonly top: number;
  readonly left: number;
  readonly height: number;
  readonly width: number;
}

/**
 * Normalised weights for an arbitrary set of rectangles inside height × width (e.g. jittered patch
 * views): 'uniform' = 1/coverage count. Returns one rect-sized weight map per rect; throws if a cell
 * is not covered.
 */
export function rectBlendWeights(rects: readonly Rect[], height: number, width: number): Float32Array[] {
  const count = new Float64Array(height * width);
  for (const r of rects) {
    if (r.top < 0 || r.left < 0 || r.top + r.height > height || r.left + r.width > width) {
      throw new RangeError(`rectBlendWeights: rect ${JSON.stringify(r)} outside ${height}x${width}`);
    }
    for (let y = r.top; y < r.top + r.height; y++) for (let x = r.left; x < r.left + r.width; x++) count[y * width + x] += 1;
  }
  const uncovered = count.indexOf(0);
  if (uncovered >= 0) throw new RangeError(`rectBlendWeights: cell (${Math.floor(uncovered / width)}, ${uncovered % width}) is not covered`);
  return rects.map((r) => {
    const w = new Float32Array(r.height * r.width);
    for (let y = 0; y < r.height; y++) for (let x = 0; x < r.width; x++) w[y * r.width + x] = 1 / count[(r.top + y) * width + r.left + x]!;
    return w;
  });
}
