/**
 * VAE-encoding an 8-bit RGB image, whole or in overlapping tiles, to the moments (mean, logvar) of
 * `vae.encode(x).latent_dist`. Tiles are cut from the 8-bit image and preprocessed one at a time, and their
 * moments are cross-faded in latent space with tiled-decode-plan.ts's linear weights, so memory holds the
 * 8-bit image, two latent-size accumulators and one tile's activations however large the input is.
 *
 * Ports diffusers v0.27 `VaeImageProcessor.preprocess` (x/255·2−1, NCHW) and the idea of
 * `AutoencoderKL.tiled_encode` (overlapping tiles, linear blend of the moments) with equal-size tiles and
 * normalised weights. A tiled encode is not exactly the untiled one: the encoder's GroupNorms and its
 * mid-block attention see one tile instead of the whole image (tests state the measured difference).
 */
import { AbortedError, NumericsError } from '../errors.js';
import type { RgbImage } from '../tensor/rgb-image.js';
import { planTiles, TileAccumulator } from './tiled-decode-plan.js';
import { tensor, type Tensor } from '../tensor/tensor.js';

/** The encoder's outputs for one batch of pixels: mean and logvar (clamped to [-30, 20]), [B, C, h, w]. */
export interface LatentMoments {
  readonly mean: Tensor;
  readonly logvar: Tensor;
}

export interface TiledEncodeOptions {
  /** Pixels per latent cell (VAE downsampling factor, 8 for SD/SDXL). */
  readonly vaeScaleFactor: number;
  /** Tile side in latent cells; an image no larger than this on both axes is encoded in one call. */
  readonly tileLatent: number;
  /** Overlap between neighbouring tiles in latent cells, in [0, tileLatent). */
  readonly overlapLatent: number;
  readonly signal?: AbortSignal;
  readonly onTile?: (tile: number, tiles: number) => void;
}

/**
 * `VaeImageProcessor.preprocess` of a crop: 8-bit RGB rows [top, top+h) × cols [left, left+w) →
 * float32 [1, 3, h, w] in [-1, 1] (v/255·2−1 in float32, as torch computes it).
 */
export function preprocessRgb(image: RgbImage, top = 0, left = 0, height = image.height, width = image.width): Tensor {
  const out = tensor([1, 3, height, width]);
  const plane = height * width;
  for (let y = 0; y < height; y++) {
    const row = ((top + y) * image.width + left) * 3;
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        out.data[c * plane + y * width + x] = Math.fround(Math.fround(image.rgb[row + 3 * x + c]! / 255) * 2) - 1;
      }
    }
  }
  return out;
}

/**
 * Encodes `image` (its sides multiples of `vaeScaleFactor`) with `encodeTile` ([1,3,th,tw] in [-1,1] →
 * moments [1,C,th/f,tw/f]). Returns the blended moments [1, C, H/f, W/f]; NumericsError on NaN/Inf.
 */
export async function encodeImage(image: RgbImage, encodeTile: (pixels: Tensor) => Promise<LatentMoments>, opts: TiledEncodeOptions): Promise<LatentMoments> {
  const f = opts.vaeScaleFactor;
  if (image.width % f !== 0 || image.height % f !== 0) throw new RangeError(`encodeImage: ${image.width}x${image.height} is not a multiple of ${f}`);
  const h = image.height / f, w = image.width / f;
  // 1. tiles in latent cells; one tile when the image fits
  const whole = Math.max(h, w) <= opts.tileLatent;
  const plan = planTiles({ height: h, width: w, tileSize: whole ? Math.max(h, w) : opts.tileLatent, overlap: whole ? 0 : opts.overlapLatent });
  let mean: TileAccumulator | undefined;
  let logvar: TileAccumulator | undefined;
  for (let i = 0; i < plan.tiles.length; i++) {
    if (opts.signal?.aborted) throw new AbortedError('VAE encode was aborted');
    const t = plan.tiles[i]!;
    // 2. preprocess and encode one tile
    const m = await encodeTile(preprocessRgb(image, t.top * f, t.left * f, t.height * f, t.width * f)); // [1, C, th, tw]
    for (const v of [m.mean, m.logvar]) {
      if (v.data.some((x) => !Number.isFinite(x))) throw new NumericsError(`VAE encode: tile ${i + 1} of ${plan.tiles.length} gave non-finite moments`);
    }
    // 3. blend
    const channels = m.mean.shape[1]!;
    mean ??= new TileAccumulator(plan, 1, channels);
    logvar ??= new TileAccumulator(plan, 1, channels);
    mean.addTile(i, m.mean);
    logvar.addTile(i, m.logvar);
    opts.onTile?.(i + 1, plan.tiles.length);
  }
  return { mean: mean!.output, logvar: logvar!.output };
}
