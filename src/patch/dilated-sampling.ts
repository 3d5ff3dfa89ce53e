/**
 * Geometry and tensor parts of dilated sampling (the global branch): top/left zero padding to a
 * multiple of the dilation factor s, the s² strided sub-latents and their scatter back, and the
 * Gaussian pre-blur with re-standardisation to the pre-blur statistics.
 *
 * Ports: DemoFusion / AccDiffusion `gaussian_kernel`, `gaussian_filter` and the dilated-sampling loop in
 * `accdiffusion_sdxl.py`; spec §5.1–§5.3, §5.8, §13.9, §13.11, §13.12.
 */
import { tensor, type Tensor } from '../tensor/tensor.js';
import { crop2d, mean, pad2d, restandardize, std } from '../tensor/ops.js';

function nchw(x: Tensor, fn: string): [number, number, number, number] {
  if (x.shape.length !== 4) throw new RangeError(`${fn}: expected [N, C, H, W], got [${x.shape}]`);
  return x.shape as unknown as [number, number, number, number];
}

function checkScale(s: number, fn: string): void {
  if (!Number.isInteger(s) || s < 1) throw new RangeError(`${fn}: dilation factor must be a positive integer, got ${s}`);
}

/** Zero rows/cols added on top and left so both sides become multiples of s. */
export function dilationPadding(height: number, width: number, s: number): { padTop: number; padLeft: number } {
  checkScale(s, 'dilationPadding');
  return { padTop: (s - (height % s)) % s, padLeft: (s - (width % s)) % s };
}

/** `F.pad(x, (padLeft, 0, padTop, 0))`: the padding goes on the top and left only. */
export function padForDilation(x: Tensor, s: number): { padded: Tensor; padTop: number; padLeft: number } {
  const [, , h, w] = nchw(x, 'padForDilation');
  const { padTop, padLeft } = dilationPadding(h, w, s);
  const padded = padTop === 0 && padLeft === 0 ? x : pad2d(x, { top: padTop, bottom: 0, left: padLeft, right: 0 });
  return { padded, padTop, padLeft };
}

/** Drops the top/left padding again. */
export function unpadDilation(x: Tensor, padTop: number, padLeft: number): Tensor {
  const [, , h, w] = nchw(x, 'unpadDilation');
  return padTop === 0 && padLeft === 0 ? x : crop2d(x, padTop, padLeft, h - padTop, w - padLeft);
}

/**
 * The s² sub-latents D_{a,b} = x[:, :, a::s, b::s] of a padded latent [N, C, H, W] (H, W multiples of s),
 * stacked in row-major (a outer) order: result [s²·N, C, H/s, W/s], window (a,b) at batch rows
 * (a·s + b)·N .. +N.
 */
export function gatherSubLatents(x: Tensor, s: number): Tensor {
  checkScale(s, 'gatherSubLatents');
  const [n, c, h, w] = nchw(x, 'gatherSubLatents');
  if (h % s !== 0 || w % s !== 0) throw new RangeError(`gatherSubLatents: ${h}x${w} is not a multiple of ${s}; pad first`);
  const sh = h / s, sw = w / s;
  const planes = n * c;
  const out = new Float32Array(x.data.length);
  for (let a = 0; a < s; a++) {
    for (let b = 0; b < s; b++) {
      const base = (a * s + b) * planes * sh * sw;
      for (let p = 0; p < planes; p++) {
        for (let y = 0; y < sh; y++) {
          const src = p * h * w + (y * s + a) * w + b;
          const dst = base + p * sh * sw + y * sw;
          for (let xx = 0; xx < sw; xx++) out[dst + xx] = x.data[src + xx * s]!;
        }
      }
    }
  }
  return tensor([s * s * n, c, sh, sw], out);
}

/** Inverse of gatherSubLatents: writes every element of the s² sub-latents back to its strided place. */
export function scatterSubLatents(sub: Tensor, s: number): Tensor {
  checkScale(s, 'scatterSubLatents');
  const [vn, c, sh, sw] = nchw(sub, 'scatterSubLatents');
  if (vn % (s * s) !== 0) throw new RangeError(`scatterSubLatents: batch ${vn} is not a multiple of ${s * s}`);
  const n = vn / (s * s);
  const h = sh * s, w = sw * s;
  const planes = n * c;
  const out = new Float32Array(sub.data.length);
  for (let a = 0; a < s; a++) {
    for (let b = 0; b < s; b++) {
      const base = (a * s + b) * planes * sh * sw;
      for (let p = 0; p < planes; p++) {
        for (let y = 0; y < sh; y++) {
          const dst = p * h * w + (y * s + a) * w + b;
          const src = base + p * sh * sw + y * sw;
          for (let xx = 0; xx < sw; xx++) out[dst + xx * s] = sub.data[src + xx]!;
        }
      }
    }
  }
  return tensor([n, c, h, w], out);
}

/** Blur strength factor c3 = 0.99·cf^cosineScale3 + 0.01 ∈ [0.01, 1]. */
export function blurFactor(cosineFactor: number, cosineScale3 = 1): number {
  return 0.99 * cosineFactor ** cosineScale3 + 0.01;
}

/** Normalised 1-D Gaussian g(u) ∝ exp(−(u − (k−1)/2)² / (2σ²)), u = 0..k−1 (the 2-D kernel is g ⊗ g). */
export function gaussianKernel1d(size: number, sigma: number): Float32Array {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`gaussianKernel1d: size must be a positive integer, got ${size}`);
  if (!(sigma > 0)) throw new RangeError(`gaussianKernel1d: sigma must be positive, got ${sigma}`);
  const g = new Float64Array(size);
  const mid = (size - 1) / 2;
  let sum = 0;
  for (let u = 0; u < size; u++) {
    g[u] = Math.exp(-((u - mid) ** 2) / (2 * sigma * sigma));
    sum += g[u]!;
  }
  return Float32Array.from(g, (v) => v / sum);
}

/**
 * Depth-wise blur with the separable Gaussian g ⊗ g, zero padding size//2, same output size
 * (`F.conv2d(x, kernel, padding=k//2, groups=C)`); borders darken because the padding is zero.
 */
export function gaussianBlur(x: Tensor, size: number, sigma: number): Tensor {
  const [n, c, h, w] = nchw(x, 'gaussianBlur');
  const g = gaussianKernel1d(size, sigma);
  const r = Math.floor(size / 2);
  const planes = n * c;
  const tmp = new Float64Array(h * w);
  const out = new Float32Array(x.data.length);
  for (let p = 0; p < planes; p++) {
    const off = p * h * w;
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < w; xx++) {
        let s = 0;
        for (let k = 0; k < size; k++) {
          const sx = xx + k - r;
          if (sx >= 0 && sx < w) s += g[k]! * x.data[off + y * w + sx]!;
        }
        tmp[y * w + xx] = s;
      }
    }
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < w; xx++) {
        let s = 0;
        for (let k = 0; k < size; k++) {
          const sy = y + k - r;
          if (sy >= 0 && sy < h) s += g[k]! * tmp[sy * w + xx]!;
        }
        out[off + y * w + xx] = s;
      }
    }
  }
  return tensor([n, c, h, w], out);
}

/**
 * The blurred copy the dilated branch feeds to the UNet: Gaussian of size 2s−1 and std sigma·c3, then
 * re-standardised to the pre-blur global mean and unbiased std of the (padded) latent.
 */
export function blurForDilation(padded: Tensor, s: number, sigma: number, c3: number): Tensor {
  checkScale(s, 'blurForDilation');
  const m = mean(padded);
  const sd = std(padded);
  return restandardize(gaussianBlur(padded, 2 * s - 1, sigma * c3), m, sd);
}
