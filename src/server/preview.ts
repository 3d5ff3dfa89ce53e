/**
 * The live preview: latents → RGB by one fixed linear map per model family, as the usual UIs show a run
 * before the VAE decode (A1111's "Approx cheap", ComfyUI's latent2rgb previewer): each latent cell becomes one
 * pixel, rgb = W·latent + b, mapped from [-1, 1] to [0, 255]. The factors are the commonly used least-squares
 * fits of the SD 1.x/2.x and SDXL VAE latent spaces to downscaled RGB (published constants, not code); for
 * other latent spaces (the tiny test models) the picture is only a rough impression.
 */
import sharp from 'sharp';
import type { Tensor } from '../tensor/tensor.js';

/** [channel][rgb] factors and bias of one latent space. */
interface LatentRgb {
  readonly factors: ReadonlyArray<readonly [number, number, number]>;
  readonly bias: readonly [number, number, number];
}

const SD1: LatentRgb = {
  factors: [[0.3512, 0.2297, 0.3227], [0.325, 0.4974, 0.235], [-0.2829, 0.1762, 0.2721], [-0.212, -0.2616, -0.7177]],
  bias: [0, 0, 0],
};

const SDXL: LatentRgb = {
  factors: [[0.3651, 0.4232, 0.4341], [-0.2533, -0.0042, 0.1068], [0.1076, 0.1111, -0.0362], [-0.3165, -0.2492, -0.2188]],
  bias: [0.1084, -0.0175, -0.0011],
};

/**
 * RGB bytes (row-major, 3 per pixel) of latents [1, 4, h, w] (the UNet's space, i.e. VAE latents × scaling factor).
 * Latent spaces with other channel counts use their first four channels (or gray from the first).
 */
export function latentsToRgb(latents: Tensor, sdxl: boolean): { width: number; height: number; rgb: Uint8Array } {
  const [, c, h, w] = latents.shape as [number, number, number, number];
  const { factors, bias } = sdxl ? SDXL : SD1;
  const plane = h * w;
  const rgb = new Uint8Array(plane * 3);
  const channels = Math.min(c, 4);
  for (let i = 0; i < plane; i++) {
    for (let k = 0; k < 3; k++) {
      let v = bias[k]!;
      if (channels === 4) for (let ch = 0; ch < 4; ch++) v += latents.data[ch * plane + i]! * factors[ch]![k]!;
      else v = latents.data[i]! * 0.5;
      rgb[i * 3 + k] = Math.max(0, Math.min(255, Math.round((v + 1) * 127.5)));
    }
  }
  return { width: w, height: h, rgb };
}

/** A JPEG of the preview, at most `maxSide` pixels on its long side (latent cells are upscaled to at least 256). */
export async function previewJpeg(latents: Tensor, sdxl: boolean, maxSide = 512): Promise<Buffer> {
  const { width, height, rgb } = latentsToRgb(latents, sdxl);
  const long = Math.max(width, height);
  const target = Math.min(maxSide, Math.max(256, long));
  const scale = target / long;
  return sharp(rgb, { raw: { width, height, channels: 3 } })
    .resize(Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale)), { kernel: scale > 1 ? 'nearest' : 'lanczos3' })
    .jpeg({ quality: 80 })
    .toBuffer();
}
