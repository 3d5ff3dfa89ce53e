/**
 * How the user's image enters a generation (upscale / img2img, docs/upscale.md): resized to the first
 * pass's size, VAE-encoded (in native-size tiles above the native size) and noised by img2imgStart to the
 * first timestep `strength` keeps. The first pass then denoises from there as diffusers'
 * StableDiffusion(XL)Img2ImgPipeline does; for AccDiffusion that pass is the one whose cross-attention is
 * captured, so its per-word masks come from the user's image.
 */
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { encodeImage } from '../decode/tiled-encode.js';
import type { Scheduler } from '../schedulers/scheduler.js';
import { img2imgStart, type Img2ImgStart } from './img2img-start.js';
import type { RandomSource } from '../tensor/random.js';
import type { Components } from '../loading/components.js';
import type { RgbImage } from '../tensor/rgb-image.js';
import type { Tensor } from '../tensor/tensor.js';
import { latentsFromEncode } from '../decode/vae-latents.js';

/**
 * The image at exactly width × height: unchanged when it already has that size, else Lanczos-resized
 * (PIL's LANCZOS is what diffusers' VaeImageProcessor.resize uses) to cover the size with its aspect ratio
 * kept and centre-cropped (a few pixels at most when the size was derived from the image's own aspect).
 */
export async function fitImage(image: RgbImage, width: number, height: number): Promise<RgbImage> {
  if (image.width === width && image.height === height) return image;
  const { data, info } = await sharp(image.rgb, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(width, height, { fit: 'cover', position: 'centre', kernel: 'lanczos3' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, rgb: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

/** SHA-256 (hex) of an image's size and pixels, for checkpoint keys and reports. */
export function imageHash(image: RgbImage): string {
  return createHash('sha256').update(`${image.width}x${image.height}:`).update(image.rgb).digest('hex');
}

export interface FirstPassStartArgs {
  readonly components: Components;
  readonly image: RgbImage;
  /** The first pass's size in pixels (multiples of the VAE factor). */
  readonly width: number;
  readonly height: number;
  readonly strength: number;
  /** The full schedule (setTimesteps done). */
  readonly scheduler: Scheduler;
  /** The pipeline generator (draws 0 and 1). */
  readonly random: RandomSource;
  readonly signal?: AbortSignal;
}

/**
 * The input's VAE mean at width × height as scheduler-side latents (latentsFromEncode; deterministic: no draw, so the random
 * streams stay as in text-to-image) [1, C, height/f, width/f]: the optional skip-residual source of a stage
 * the input is at least as large as (GenerateOptions.inputResidual).
 */
export async function encodeInputLatents(components: Components, image: RgbImage, width: number, height: number, signal?: AbortSignal): Promise<Tensor> {
  const folder = components.folder;
  const encoder = await components.vaeEncoder();
  const tileLatent = folder.nativeLatentSize;
  const m = await encodeImage(await fitImage(image, width, height), async (pixels) => {
    const out = await encoder.run({ sample: pixels });
    return { mean: out.mean!, logvar: out.logvar! };
  }, { vaeScaleFactor: folder.vaeScaleFactor, tileLatent, overlapLatent: Math.floor(tileLatent / 4), ...(signal ? { signal } : {}) });
  return latentsFromEncode(m.mean, components.vaeConfig);
}

/** Resizes, encodes and noises the user's image for the first pass (see img2imgStart for the draws). */
export async function firstPassStart(a: FirstPassStartArgs): Promise<Img2ImgStart> {
  const c = a.components;
  const folder = c.folder;
  const fitted = await fitImage(a.image, a.width, a.height);
  const encoder = await c.vaeEncoder();
  const tileLatent = folder.nativeLatentSize;
  return img2imgStart({
    scheduler: a.scheduler,
    strength: a.strength,
    toLatents: (z) => latentsFromEncode(z, c.vaeConfig),
    random: a.random,
    encode: () => encodeImage(fitted, async (pixels) => {
      const out = await encoder.run({ sample: pixels });
      return { mean: out.mean!, logvar: out.logvar! };
    }, {
      vaeScaleFactor: folder.vaeScaleFactor, tileLatent, overlapLatent: Math.floor(tileLatent / 4),
      ...(a.signal ? { signal: a.signal } : {}),
    }),
  });
}
