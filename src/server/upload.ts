/**
 * The page's "Image to upscale": the job body's `image` ({ name, data: base64 of the file's bytes }) decoded
 * in memory with the library's reader (src/sampling/input-image.ts: PNG, JPEG, WebP, alpha onto white), as
 * the CLI's `upscale --image` reads a file. Nothing of the upload is written to disk.
 */
import { OptionsError } from '../errors.js';
import { readInputImageBytes, type InputImage } from '../sampling/input-image.js';

/** The field's label in messages. */
export const IMAGE_LABEL = 'Image to upscale';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * The decoded upload, or undefined when the body has no image (a text-to-image job).
 * @throws OptionsError (one line) for a malformed field or bytes that are not an image
 */
export async function readUpload(body: unknown): Promise<InputImage | undefined> {
  const image = body !== null && typeof body === 'object' ? (body as Record<string, unknown>).image : undefined;
  if (image === undefined || image === null) return undefined;
  const { name, data } = (typeof image === 'object' ? image : {}) as { name?: unknown; data?: unknown };
  if (typeof name !== 'string' || typeof data !== 'string' || !BASE64.test(data) || data.length === 0) {
    throw new OptionsError(`${IMAGE_LABEL}: expected { "name": "<file name>", "data": "<base64 of the file>" }`);
  }
  const base = name.split(/[\\/]/).pop()!.slice(0, 200) || 'image';
  return readInputImageBytes(Buffer.from(data, 'base64'), base, IMAGE_LABEL);
}
