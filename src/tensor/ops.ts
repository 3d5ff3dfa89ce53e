/**
 * Plain NCHW tensor helpers the AccDiffusion pipeline needs outside the models: bicubic and nearest
 * resizing (PyTorch `F.interpolate` / OpenCV `INTER_NEAREST` semantics), zero padding, cropping, global
 * mean / unbiased std and re-standardisation, and binary morphology (erode / dilate / opening with the
 * OpenCV default borders).
 *
 * Ports: PyTorch `aten/src/ATen/native/UpSample.h` (cubic convolution, A = -0.75, align_corners=False),
 * OpenCV `cv::resize(INTER_NEAREST)`, `cv::erode` / `cv::dilate` (morphologyDefaultBorderValue);
 * spec /work/shared/spec/accdiffusion-algorithm.md §1.3, §3.2, §12.
 *
 * All functions operate on the last two axes ("planes") and treat every leading axis as a batch.
 */
import { tensor, type Tensor } from './tensor.js';

/** Cubic-convolution coefficient PyTorch uses for bicubic interpolation. */
const CUBIC_A = -0.75;

function planeDims(x: Tensor, fn: string): { planes: number; h: number; w: number } {
  if (x.shape.length < 2) throw new RangeError(`${fn}: need at least 2 dimensions, got [${x.shape}]`);
  const h = x.shape[x.shape.length - 2]!;
  const w = x.shape[x.shape.length - 1]!;
  return { planes: h * w === 0 ? 0 : x.data.length / (h * w), h, w };
}

function withPlane(shape: readonly number[], h: number, w: number): number[] {
  return [...shape.slice(0, -2), h, w];
}

function checkSize(fn: string, h: number, w: number): void {
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 1 || w < 1) {
    throw new RangeError(`${fn}: output size must be positive integers, got ${h}x${w}`);
  }
}

/** The four cubic-convolution weights for fractional offset t ∈ [0,1) (taps at -1, 0, 1, 2). */
export function cubicWeights(t: number): [number, number, number, number] {
  const a = CUBIC_A;
  const x0 = t + 1; // distance to tap -1, in [1,2)
  const x3 = 2 - t; // distance to tap 2, in (1,2]
  const far = (x: number): number => ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  const near = (x: number): number => ((a + 2) * x - (a + 3)) * x * x + 1;
  return [far(x0), near(t), near(1 - t), far(x3)];
}

/** Per output index: the 4 clamped source taps and their weights along one axis. */
function cubicAxis(nIn: number, nOut: number): { idx: Int32Array; wt: Float64Array } {
  // PyTorch computes the scale in float32 (opmath of float) when an explicit size is given.
  const scale = Math.fround(nIn / nOut);
  const idx = new Int32Array(nOut * 4);
  const wt = new Float64Array(nOut * 4);
  for (let o = 0; o < nOut; o++) {
    const src = Math.fround(scale * (o + 0.5) - 0.5);
    const i0 = Math.floor(src);
    const ws = cubicWeights(src - i0);
    for (let k = 0; k < 4; k++) {
      idx[o * 4 + k] = Math.min(Math.max(i0 - 1 + k, 0), nIn - 1);
      wt[o * 4 + k] = ws[k]!;
    }
  }
  return { idx, wt };
}

/**
 * Bicubic resize of the last two axes, like `F.interpolate(x, size=(outH,outW), mode='bicubic',
 * align_corners=False)`: source coordinate (dst+0.5)·in/out − 0.5, taps clamped to the border,
 * separable (rows, then columns). Not convex: it can overshoot.
 */
export function interpolateBicubic(x: Tensor, outH: number, outW: number): Tensor {
  checkSize('interpolateBicubic', outH, outW);
  const { planes, h, w } = planeDims(x, 'interpolateBicubic');
  const ax = cubicAxis(w, outW);
  const ay = cubicAxis(h, outH);
  const out = new Float32Array(planes * outH * outW);
  const rowBuf = new Float64Array(h * outW);
  for (let p = 0; p < planes; p++) {
    const src = p * h * w;
    for (let y = 0; y < h; y++) {
      for (let o = 0; o < outW; o++) {
        let s = 0;
        for (let k = 0; k < 4; k++) s += ax.wt[o * 4 + k]! * x.data[src + y * w + ax.idx[o * 4 + k]!]!;
        rowBuf[y * outW + o] = s;
      }
    }
    const dst = p * outH * outW;
    for (let o = 0; o < outH; o++) {
      const r0 = ay.idx[o * 4]! * outW, r1 = ay.idx[o * 4 + 1]! * outW;
      const r2 = ay.idx[o * 4 + 2]! * outW, r3 = ay.idx[o * 4 + 3]! * outW;
      const w0 = ay.wt[o * 4]!, w1 = ay.wt[o * 4 + 1]!, w2 = ay.wt[o * 4 + 2]!, w3 = ay.wt[o * 4 + 3]!;
      for (let c = 0; c < outW; c++) {
        out[dst + o * outW + c] = w0 * rowBuf[r0 + c]! + w1 * rowBuf[r1 + c]! + w2 * rowBuf[r2 + c]! + w3 * rowBuf[r3 + c]!;
      }
    }
  }
  return tensor(withPlane(x.shape, outH, outW), out);
}

/** Source index per output index for nearest resizing: floor(dst·in/out), clamped (OpenCV INTER_NEAREST). */
export function nearestIndices(nIn: number, nOut: number): Int32Array {
  const idx = new Int32Array(nOut);
  for (let o = 0; o < nOut; o++) idx[o] = Math.min(Math.floor((o * nIn) / nOut), nIn - 1);
  return idx;
}

/** Nearest resize of one h×w plane stored row-major in any typed array; integer factors = block replication. */
export function resizeNearestPlane<T extends Float32Array | Uint8Array | Int32Array>(
  src: T, h: number, w: number, outH: number, outW: number,
): T {
  checkSize('resizeNearestPlane', outH, outW);
  if (src.length !== h * w) throw new RangeError(`resizeNearestPlane: ${src.length} elements for ${h}x${w}`);
  const iy = nearestIndices(h, outH);
  const ix = nearestIndices(w, outW);
  const out = new (src.constructor as new (n: number) => T)(outH * outW);
  for (let y = 0; y < outH; y++) {
    const row = iy[y]! * w;
    for (let x = 0; x < outW; x++) out[y * outW + x] = src[row + ix[x]!]!;
  }
  return out;
}

/** Nearest resize of the last two axes of a tensor. */
export function interpolateNearest(x: Tensor, outH: number, outW: number): Tensor {
  const { planes, h, w } = planeDims(x, 'interpolateNearest');
  const out = new Float32Array(planes * outH * outW);
  for (let p = 0; p < planes; p++) {
    out.set(resizeNearestPlane(x.data.subarray(p * h * w, (p + 1) * h * w), h, w, outH, outW), p * outH * outW);
  }
  return tensor(withPlane(x.shape, outH, outW), out);
}

/** Padding amounts on the last two axes. */
export interface Pad2d {
  readonly top: number;
  readonly bottom: number;
  readonly left: number;
  readonly right: number;
}

/** Constant padding of the last two axes (`F.pad(x, (left, right, top, bottom), value=value)`). */
export function pad2d(x: Tensor, pad: Pad2d, value = 0): Tensor {
  const { top, bottom, left, right } = pad;
  for (const v of [top, bottom, left, right]) {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`pad2d: pads must be non-negative integers, got ${JSON.stringify(pad)}`);
  }
  const { planes, h, w } = planeDims(x, 'pad2d');
  const oh = h + top + bottom;
  const ow = w + left + right;
  const out = new Float32Array(planes * oh * ow);
  if (value !== 0) out.fill(value);
  for (let p = 0; p < planes; p++) {
    for (let y = 0; y < h; y++) {
      const s = p * h * w + y * w;
      out.set(x.data.subarray(s, s + w), p * oh * ow + (y + top) * ow + left);
    }
  }
  return tensor(withPlane(x.shape, oh, ow), out);
}

/** Rectangle [top, top+height) × [left, left+width) of the last two axes (must lie inside). */
export function crop2d(x: Tensor, top: number, left: number, height: number, width: number): Tensor {
  const { planes, h, w } = planeDims(x, 'crop2d');
  if (top < 0 || left < 0 || height < 0 || width < 0 || top + height > h || left + width > w) {
    throw new RangeError(`crop2d: rect (${top},${left}) ${height}x${width} outside ${h}x${w}`);
  }
  const out = new Float32Array(planes * height * width);
  for (let p = 0; p < planes; p++) {
    for (let y = 0; y < height; y++) {
      const s = p * h * w + (top + y) * w + left;
      out.set(x.data.subarray(s, s + width), p * height * width + y * width);
    }
  }
  return tensor(withPlane(x.shape, height, width), out);
}

/** Mean over all elements (accumulated in float64). */
export function mean(x: Tensor | Float32Array): number {
  const d = x instanceof Float32Array ? x : x.data;
  if (d.length === 0) throw new RangeError('mean: empty tensor');
  let s = 0;
  for (let i = 0; i < d.length; i++) s += d[i]!;
  return s / d.length;
}

/** Unbiased (N−1) standard deviation over all elements, like `torch.std()`. */
export function std(x: Tensor | Float32Array): number {
  const d = x instanceof Float32Array ? x : x.data;
  if (d.length < 2) throw new RangeError('std: need at least 2 elements');
  const m = mean(d);
  let s = 0;
  for (let i = 0; i < d.length; i++) {
    const v = d[i]! - m;
    s += v * v;
  }
  return Math.sqrt(s / (d.length - 1));
}

/**
 * `(x − mean(x)) / std(x) · targetStd + targetMean` with global scalar statistics (unbiased std), as the
 * reference does after every stage (anchor stats) and after the Gaussian blur (pre-blur stats).
 */
export function restandardize(x: Tensor, targetMean: number, targetStd: number): Tensor {
  const m = mean(x);
  const s = std(x);
  const k = s > 0 ? targetStd / s : 0;
  const out = new Float32Array(x.data.length);
  for (let i = 0; i < out.length; i++) out[i] = (x.data[i]! - m) * k + targetMean;
  return tensor(x.shape, out);
}

/**
 * One 3×3 binary erosion (op 'min') or dilation (op 'max') of an h×w 0/1 mask. Out-of-image
 * neighbours are ignored, which is what OpenCV's default border value means: +∞ for erode (the
 * border never erodes) and −∞ for dilate (nothing grows in from outside).
 */
function morph3x3(src: Uint8Array, h: number, w: number, erode: boolean): Uint8Array {
  const out = new Uint8Array(h * w);
  for (let y = 0; y < h; y++) {
    const y0 = Math.max(0, y - 1), y1 = Math.min(h - 1, y + 1);
    for (let x = 0; x < w; x++) {
      const x0 = Math.max(0, x - 1), x1 = Math.min(w - 1, x + 1);
      // Erosion keeps a pixel only if no in-image neighbour is off; dilation sets it if any is on.
      const target = erode ? 0 : 1;
      let hit = false;
      for (let yy = y0; yy <= y1 && !hit; yy++) {
        for (let xx = x0; xx <= x1; xx++) {
          if ((src[yy * w + xx] ? 1 : 0) === target) {
            hit = true;
            break;
          }
        }
      }
      const v = hit ? target : 1 - target;
      out[y * w + x] = v;
    }
  }
  return out;
}

function checkMask(fn: string, mask: Uint8Array, h: number, w: number, iterations: number): void {
  if (mask.length !== h * w) throw new RangeError(`${fn}: mask has ${mask.length} elements, expected ${h}x${w}`);
  if (!Number.isInteger(iterations) || iterations < 0) throw new RangeError(`${fn}: iterations must be a non-negative integer`);
}

/** Binary erosion with a 3×3 all-ones element, `iterations` times (cv2.erode border rule). Output is 0/1. */
export function erode(mask: Uint8Array, h: number, w: number, iterations = 1): Uint8Array {
  checkMask('erode', mask, h, w, iterations);
  let m: Uint8Array = Uint8Array.from(mask, (v) => (v ? 1 : 0));
  for (let i = 0; i < iterations; i++) m = morph3x3(m, h, w, true);
  return m;
}

/** Binary dilation with a 3×3 all-ones element, `iterations` times (cv2.dilate border rule). Output is 0/1. */
export function dilate(mask: Uint8Array, h: number, w: number, iterations = 1): Uint8Array {
  checkMask('dilate', mask, h, w, iterations);
  let m: Uint8Array = Uint8Array.from(mask, (v) => (v ? 1 : 0));
  for (let i = 0; i < iterations; i++) m = morph3x3(m, h, w, false);
  return m;
}

/** Morphological opening: erosion `iterations` times, then dilation `iterations` times. */
export function opening(mask: Uint8Array, h: number, w: number, iterations = 1): Uint8Array {
  return dilate(erode(mask, h, w, iterations), h, w, iterations);
}
