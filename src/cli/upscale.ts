/**
 * The `upscale` command's own steps around the shared generate run (issue 14): the target size from the input's
 * size, the run size (nearest multiples of 8), the final resize to exactly the target, and the PNG metadata
 * that records the input file.
 */
import sharp from 'sharp';
import type { RgbImage } from '../pipeline/result.js';
import { fail } from './arg-values.js';
import type { InputImage } from '../sampling/input-image.js';
import type { RunCost } from '../pipeline/cost-estimate.js';
import { resolveTargetSize, type TargetSize } from './target-size.js';
import { runSize, scaledSize } from '../sampling/upscale-size.js';

/** The exact output size and the size the pipeline runs at (each side the nearest multiple of 8, at least 8). */
export interface UpscaleSize {
  readonly width: number;
  readonly height: number;
  readonly runWidth: number;
  readonly runHeight: number;
}

/**
 * `--scale s`: round(input side · s) for each side; `--width/--height`: as given. Sizes above the generate
 * command's limit need --force (generate's message, with the model's native size for its cost estimate).
 */
export function upscaleSize(size: TargetSize, input: RgbImage, nativeSize: number, force: boolean, cost?: (width: number, height: number) => RunCost): UpscaleSize {
  const { width, height } = size.kind === 'pixels' ? size : scaledSize(input, size.scale);
  if (width < 1 || height < 1) fail(`--scale ${size.kind === 'scale' ? size.scale : ''} makes ${input.width}x${input.height} smaller than one pixel`);
  const { runWidth, runHeight } = runSize(width, height);
  resolveTargetSize({ kind: 'pixels', width: runWidth, height: runHeight }, nativeSize, force, cost);
  return { width, height, runWidth, runHeight };
}

/** The image at exactly width × height (Lanczos, aspect as given: the run size differs by < 4 px per side). */
export async function resizeExactly(image: RgbImage, width: number, height: number): Promise<RgbImage> {
  if (image.width === width && image.height === height) return image;
  const { data, info } = await sharp(image.rgb, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(width, height, { fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, rgb: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

/** Appends A1111's "Denoising strength" and the input file's name and SHA-256 to a parameters text. */
export function withInputParameters(parameters: string, input: InputImage, strength: number): string {
  const name = /[,:\n]/.test(input.name) ? JSON.stringify(input.name) : input.name;
  return `${parameters}, Denoising strength: ${strength}, Input image: ${name}, Input image SHA256: ${input.sha256}, Input size: ${input.image.width}x${input.image.height}`;
}
