/**
 * Decoding a large latent with the VAE in overlapping tiles, so that the decoder's activations (and its
 * mid-block attention over every latent cell) stay the size of one tile however large the image grows;
 * the tiles are cross-faded with the linear weights of tiled-decode-plan.ts, and each band of finished rows
 * is converted to 8-bit RGB at once.
 *
 * Ports the idea of diffusers v0.27 `AutoencoderKL.tiled_decode` (overlapping tiles, linear blend) with
 * equal-size tiles and normalised weights instead of its crop-and-blend; the pixel conversion follows
 * `VaeImageProcessor.postprocess` (denormalize `(x / 2 + 0.5).clamp(0, 1)`) and `numpy_to_pil`
 * (`(images * 255).round().astype("uint8")`, numpy rounding half to even). Spec §7 and §13 item 17.
 */
import { AbortedError, NumericsError, OptionsError } from '../errors.js';
import { crop2d } from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';
import type { RgbImage } from '../tensor/rgb-image.js';
import { planTiles } from './tiled-decode-plan.js';

export interface TiledDecodeOptions {
  /** Tile side in latent cells; a latent no larger than this on both axes is decoded in one call. */
  readonly tileLatent: number;
  /** Overlap between neighbouring tiles in latent cells, in [0, tileLatent). */
  readonly overlapLatent: number;
  readonly signal?: AbortSignal;
}

/** Index of the first NaN/±Inf, or -1. */
function firstNonFinite(a: Float32Array): number {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return i;
  return -1;
}

/** numpy's round (half to even) of a non-negative value. */
function roundHalfEven(y: number): number {
  const f = Math.floor(y);
  const d = y - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * Decodes latents [1, C, h, w] (already divided by scaling_factor) straight to 8-bit RGB, one row of tiles
 * at a time: only a band of float pixels (one tile row plus the overlap carried into the next) is ever
 * held, so the float image of a huge target never exists. Pixels [-1, 1] become bytes as diffusers saves
 * them, in float32: ((x / 2 + 0.5).clamp(0, 1) · 255).round(), numpy rounding half to even.
 * Throws OptionsError for bad tile options and NumericsError (naming the tile) for NaN/Inf in latents or pixels.
 */
export async function decodeToImage(latents: Tensor, decodeTile: (tile: Tensor) => Promise<Tensor>, opts: TiledDecodeOptions & { onTile?: (tile: number, tiles: number) => void }): Promise<RgbImage> {
  const { tileLatent, overlapLatent } = opts;
  if (!Number.isInteger(tileLatent) || tileLatent < 1) throw new OptionsError(`tile size ${tileLatent} must be a positive number of latent cells`);
  if (!Number.isInteger(overlapLatent) || overlapLatent < 0 || overlapLatent >= tileLatent) {
    throw new OptionsError(`tile overlap ${overlapLatent} must be an integer in [0, ${tileLatent}) latent cells`);
  }
  if (latents.shape.length !== 4 || latents.shape[0] !== 1) throw new RangeError(`decodeToImage: latents must be [1, C, h, w], got [${latents.shape}]`);
  const [, , height, width] = latents.shape as [number, number, number, number];
  const bad = firstNonFinite(latents.data);
  if (bad >= 0) throw new NumericsError(`VAE decode: the latents contain ${latents.data[bad]} (element ${bad} of [${latents.shape}])`);
  const rects = planTiles({ height, width, tileSize: tileLatent, overlap: overlapLatent }).tiles;
  let plan: ReturnType<typeof planTiles> | undefined;
  let rgb: Uint8Array | undefined;
  let W = 0;
  // band: float pixels of output rows [lo, lo + cap), 3 planes of cap rows; allocated once (cap = one tile's
  // height: after a tile row is flushed, the next tile row starts at lo, so it always fits).
  let band = new Float32Array(0);
  let cap = 0;
  let lo = 0;
  const f = Math.fround;
  const flush = (upTo: number): void => {
    for (let y = lo; y < upTo; y++) {
      for (let x = 0; x < W; x++) {
        for (let c = 0; c < 3; c++) {
          const v = band[c * cap * W + (y - lo) * W + x]!;
          if (Number.isNaN(v)) throw new NumericsError(`VAE output: pixel (${y}, ${x}) channel ${c} is NaN`);
          rgb![(y * W + x) * 3 + c] = roundHalfEven(f(Math.min(1, Math.max(0, f(f(v / 2) + 0.5))) * 255));
        }
      }
    }
    // move the rows that are not final yet to the top and clear the rest
    const shift = upTo - lo;
    for (let c = 0; c < 3; c++) {
      const plane = band.subarray(c * cap * W, (c + 1) * cap * W);
      plane.copyWithin(0, shift * W);
      plane.fill(0, (cap - shift) * W);
    }
    lo = upTo;
  };
  for (let i = 0; i < rects.length; i++) {
    if (opts.signal?.aborted) throw new AbortedError('VAE decode was aborted');
    const r = rects[i]!;
    const out = await decodeTile(crop2d(latents, r.top, r.left, r.height, r.width)); // [1, 3, s·th, s·tw]
    opts.onTile?.(i + 1, rects.length);
    const where = `tile ${i + 1} of ${rects.length} (latent rows ${r.top}..${r.top + r.height - 1}, cols ${r.left}..${r.left + r.width - 1})`;
    const badOut = firstNonFinite(out.data);
    if (badOut >= 0) throw new NumericsError(`VAE decode: ${where} decoded to ${out.data[badOut]} pixels (fp16 overflow? try a float32 VAE)`);
    if (!plan) {
      const scale = out.shape[2]! / r.height;
      if (out.shape.length !== 4 || out.shape[1] !== 3 || !Number.isInteger(scale) || out.shape[3] !== r.width * scale) {
        throw new RangeError(`decodeToImage: decoding a [${r.height}, ${r.width}] tile gave [${out.shape}], not an RGB integer upscale`);
      }
      plan = planTiles({ height, width, tileSize: tileLatent, overlap: overlapLatent, scale });
      W = plan.outWidth;
      rgb = new Uint8Array(plan.outHeight * W * 3);
      cap = plan.tiles[0]!.outHeight;
      band = new Float32Array(3 * cap * W);
    }
    const t = plan.tiles[i]!;
    if (t.outTop < lo || t.outTop + t.outHeight > lo + cap) throw new Error(`decodeToImage: tile ${i} rows outside the band`);
    const bandRows = cap;
    const wy = plan.rows[t.row]!.weights;
    const wx = plan.cols[t.col]!.weights;
    const oh = t.outHeight, ow = t.outWidth;
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < oh; y++) {
        const dst = c * bandRows * W + (t.outTop - lo + y) * W + t.outLeft;
        const src = c * oh * ow + y * ow;
        const a = wy[y]!;
        for (let x = 0; x < ow; x++) band[dst + x]! += a * wx[x]! * out.data[src + x]!;
      }
    }
    // after the last tile of a row, rows above the next tile row are final
    const lastInRow = i === rects.length - 1 || plan.tiles[i + 1]!.row !== t.row;
    if (lastInRow) flush(t.row + 1 < plan.rows.length ? plan.rows[t.row + 1]!.start * plan.scale : plan.outHeight);
  }
  return { width: W, height: plan!.outHeight, rgb: rgb! };
}
