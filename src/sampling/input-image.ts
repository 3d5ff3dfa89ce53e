/**
 * Reading the user's image for `upscale` through sharp (libvips): PNG (8/16-bit, palette, grey, with or
 * without alpha), JPEG (EXIF orientation applied), WebP, and whatever else sharp decodes, as 8-bit sRGB.
 * Alpha is flattened onto INPUT_BACKGROUND, as a viewer shows a transparent PNG on a white page.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import sharp from 'sharp';
import { OptionsError } from '../errors.js';
import type { RgbImage } from '../tensor/rgb-image.js';

/** The colour transparent pixels are composited onto (white). */
export const INPUT_BACKGROUND = '#ffffff';

/** The decoded image and what the output's metadata records about its file. */
export interface InputImage {
  readonly image: RgbImage;
  /** The file's base name. */
  readonly name: string;
  /** SHA-256 (hex) of the file's bytes. */
  readonly sha256: string;
}

/** Decodes `file` to 8-bit RGB; OptionsError naming the file when it cannot be read or decoded. */
export async function readInputImage(file: string): Promise<InputImage> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new OptionsError(`--image: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return readInputImageBytes(bytes, basename(file));
}

/**
 * Decodes an image file's bytes (e.g. an upload; nothing is written to disk) to 8-bit RGB, as readInputImage.
 * @param name the file's base name, recorded in the output's metadata and named in errors
 * @param label what the error message names first (the CLI's flag, the page's field)
 * @throws OptionsError (one line) when sharp cannot decode the bytes
 */
export async function readInputImageBytes(bytes: Buffer, name: string, label = '--image'): Promise<InputImage> {
  try {
    const { data, info } = await sharp(bytes, { failOn: 'error' })
      .rotate() // EXIF orientation
      .flatten({ background: INPUT_BACKGROUND })
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return {
      image: { width: info.width, height: info.height, rgb: new Uint8Array(data.buffer, data.byteOffset, data.length) },
      name,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    };
  } catch (e) {
    throw new OptionsError(`${label}: ${name} is not an image sharp can decode (${(e as Error).message.split('\n')[0]})`);
  }
}
