/**
 * Images a job shows while it runs: stage images as JPEG (display only; the final PNG is the output file),
 * and the native pass's per-word masks as small coloured RGBA PNGs at the attention-map resolution, which the
 * page stretches over the native image with nearest-neighbour scaling.
 */
import sharp from 'sharp';
import type { RgbImage, TokenMask } from '../pipeline/result.js';

/** A stage image for the page. */
export function stageJpeg(image: RgbImage): Promise<Buffer> {
  return sharp(image.rgb, { raw: { width: image.width, height: image.height, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
}

/** The lossless PNG of an image (the native pass under the masks). */
export function imagePng(image: RgbImage): Promise<Buffer> {
  return sharp(image.rgb, { raw: { width: image.width, height: image.height, channels: 3 } }).png().toBuffer();
}

/** A distinct colour per word (golden-angle hues), as RGB bytes. */
export function maskColour(index: number): [number, number, number] {
  const h = ((index * 137.508) % 360) / 60;
  const x = 1 - Math.abs((h % 2) - 1);
  const [r, g, b] = h < 1 ? [1, x, 0] : h < 2 ? [x, 1, 0] : h < 3 ? [0, 1, x] : h < 4 ? [0, x, 1] : h < 5 ? [x, 0, 1] : [1, 0, x];
  return [Math.round(r * 255), Math.round(g * 255), Math.round(b * 255)];
}

/** The mask as RGBA: the word's colour where the mask is set (alpha 160), transparent elsewhere. */
export function maskPngRgba(mask: TokenMask): Promise<Buffer> {
  const [r, g, b] = maskColour(mask.index);
  const rgba = Buffer.alloc(mask.width * mask.height * 4);
  for (let i = 0; i < mask.width * mask.height; i++) {
    const on = mask.mask[i]! > 0;
    rgba[i * 4] = r;
    rgba[i * 4 + 1] = g;
    rgba[i * 4 + 2] = b;
    rgba[i * 4 + 3] = on ? 160 : 0;
  }
  return sharp(rgba, { raw: { width: mask.width, height: mask.height, channels: 4 } }).png().toBuffer();
}
