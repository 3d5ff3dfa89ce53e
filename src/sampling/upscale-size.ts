/**
 * Upscale sizes shared by the CLI's `upscale` and the page: the exact target (input side × scale, rounded
 * to whole pixels) and the size the pipeline runs at (each side the nearest multiple of 8, at least 8; the
 * result is resized to the exact target at the end, a change of < 4 px per side).
 */

/** Each side the nearest multiple of 8, at least 8 (pixels). */
export const toMultipleOf8 = (v: number): number => Math.max(8, Math.round(v / 8) * 8);

/** round(side · scale) for each side of the input (pixels); may be 0 for a tiny input and a small scale. */
export function scaledSize(input: { readonly width: number; readonly height: number }, scale: number): { width: number; height: number } {
  return { width: Math.round(input.width * scale), height: Math.round(input.height * scale) };
}

/** The run size of an exact target size (pixels): each side toMultipleOf8. */
export function runSize(width: number, height: number): { runWidth: number; runHeight: number } {
  return { runWidth: toMultipleOf8(width), runHeight: toMultipleOf8(height) };
}
