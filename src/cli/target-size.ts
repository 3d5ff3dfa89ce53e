/**
 * The generate command's target size: pixels or a multiple of the model's native size, resolved to pixels
 * once the model is loaded, and the refusal of very large sizes without --force, which shows the library's
 * cost estimate of the run (pipeline/cost-estimate.ts, the work the chosen method would do).
 */
import { fullSizeMemoryBytes, type RunCost } from '../pipeline/cost-estimate.js';
import { fail } from './arg-values.js';

/**
 * Target size: pixels, or a multiple of the model's native size, which is only known after loading
 * (see resolveTargetSize).
 */
export type TargetSize =
  | { readonly kind: 'pixels'; readonly width: number; readonly height: number }
  | { readonly kind: 'scale'; readonly scale: number };

/** Largest pixel count accepted without --force: 8192² (the latents alone then take 16 MiB per copy, the VAE far more). */
export const MAX_PIXELS_WITHOUT_FORCE = 8192 * 8192;

/** Assumed seconds per native-size UNet evaluation in the refusal message (SDXL at 1024 px on a desktop CPU). */
const SECONDS_PER_EVALUATION = 10;

/**
 * The target size in pixels once the model's native size is known. Scale results must land on
 * multiples of 8; very large targets need --force, and `cost` (the loaded pipeline's estimate) says why.
 */
export function resolveTargetSize(size: TargetSize, nativeSize: number, force: boolean, cost?: (width: number, height: number) => RunCost): { width: number; height: number } {
  let width: number;
  let height: number;
  if (size.kind === 'pixels') {
    ({ width, height } = size);
  } else {
    width = height = Math.round(nativeSize * size.scale);
    if (Math.abs(nativeSize * size.scale - width) > 1e-6 || width % 8 !== 0) {
      fail(`--scale ${size.scale} gives ${nativeSize * size.scale} px from the native ${nativeSize} px, not a multiple of 8; use --width/--height`);
    }
  }
  if (!force && width * height > MAX_PIXELS_WITHOUT_FORCE) {
    const memory = `about ${(fullSizeMemoryBytes(width, height) / 2 ** 30).toFixed(1)} GiB of memory for the image and latents`;
    const e = cost?.(width, height);
    const work = e
      ? `, and ${e.unetCallsPerStep.toLocaleString('en-US')} UNet evaluations per denoising step over ${e.stages.length} stage${e.stages.length === 1 ? '' : 's'} ` +
        `(${e.unetCalls.toLocaleString('en-US')} in all, ${formatDuration(e.nativeSizeEvaluations * SECONDS_PER_EVALUATION)} at ${SECONDS_PER_EVALUATION} s per native-size evaluation, a CPU's pace for SDXL)`
      : '';
    fail(`${width}x${height} is very large (${(width * height / 1e6).toFixed(0)} Mpx): ${memory}${work}; add --force to run it anyway`);
  }
  return { width, height };
}

function formatDuration(seconds: number): string {
  if (seconds < 3600) return `about ${Math.ceil(seconds / 60)} min`;
  if (seconds < 48 * 3600) return `about ${(seconds / 3600).toFixed(0)} h`;
  return `about ${(seconds / 86400).toFixed(0)} days`;
}
