/**
 * The generate command's target size: pixels or a multiple of the model's native size, resolved to pixels
 * once the model is loaded, and the cost estimate behind the refusal of very large sizes without --force
 * (the work counted follows spec §3's stages, windows and dilated samples).
 */
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

/**
 * The target size in pixels once the model's native size is known. Scale results must land on
 * multiples of 8; very large targets need --force.
 */
export function resolveTargetSize(size: TargetSize, nativeSize: number, force: boolean): { width: number; height: number } {
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
    const e = estimateRun(width, height, nativeSize);
    fail(`${width}x${height} is very large (${(width * height / 1e6).toFixed(0)} Mpx): about ${e.memoryGiB.toFixed(1)} GiB of memory for the image and latents, ` +
      `and ${e.unetCallsPerStep.toLocaleString('en-US')} native-size UNet evaluations per denoising step over ${e.stages} stages ` +
      `(${e.unetCalls50.toLocaleString('en-US')} at the default 50 steps: ${formatDuration(e.unetCalls50 * e.secondsPerCall)} at ${e.secondsPerCall} s each, a CPU's pace for SDXL); add --force to run it anyway`);
  }
  return { width, height };
}

/** A rough cost estimate of a generation, shown before refusing a very large size. */
export interface RunEstimate {
  /** Decoded float32 pixels, 8-bit image, and a dozen latent copies. */
  readonly memoryGiB: number;
  /** Upscaling stages (the target's long side over the native side, rounded up). */
  readonly stages: number;
  /** UNet evaluations at the native size for one step of every stage, CFG's two branches included. */
  readonly unetCallsPerStep: number;
  /** The same over 50 steps per stage. */
  readonly unetCalls50: number;
  /** Assumed seconds per native-size UNet evaluation (SDXL at 1024 px on a desktop CPU). */
  readonly secondsPerCall: number;
}

/**
 * Counts the work AccDiffusion does (spec §3: a native pass, then for each stage s = 2..S patch windows at
 * stride native/2, i.e. about (2s − 1)² of them, plus s² dilated samples, each evaluated with and without the
 * prompt) and the memory of the full-size tensors: float32 pixels (12 B/px), the 8-bit image (3 B/px) and
 * about 12 latent copies (4 channels × 4 B per 8×8 pixels each).
 */
export function estimateRun(width: number, height: number, nativeSize: number): RunEstimate {
  const stages = Math.max(1, Math.ceil(Math.max(width, height) / nativeSize));
  const aspect = Math.min(width, height) / Math.max(width, height);
  let perStep = 2;
  for (let s = 2; s <= stages; s++) {
    const across = 2 * s - 1;
    const down = Math.max(1, Math.ceil((2 * s - 1) * aspect));
    perStep += 2 * (across * down + s * s);
  }
  const bytes = width * height * (12 + 3) + 12 * 4 * 4 * (width / 8) * (height / 8);
  const secondsPerCall = 10;
  return { memoryGiB: bytes / 2 ** 30, stages, unetCallsPerStep: perStep, unetCalls50: perStep * 50, secondsPerCall };
}

function formatDuration(seconds: number): string {
  if (seconds < 3600) return `about ${Math.ceil(seconds / 60)} min`;
  if (seconds < 48 * 3600) return `about ${(seconds / 3600).toFixed(0)} h`;
  return `about ${(seconds / 86400).toFixed(0)} days`;
}
