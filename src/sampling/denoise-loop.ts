/**
 * The denoising loop, written once for every method and stage: for each of the scheduler's timesteps, ask
 * the method for a noise prediction, take one scheduler step, check the latents, report. The loop knows
 * nothing of windows, branches or UNet variants: a method hands it a NoisePredictor (the shape of diffusers'
 * `for i, t in enumerate(timesteps)` body, tinygrad's SD `get_model_output` and stable-diffusion.cpp's
 * `denoise_cb_t`).
 */
import { AbortedError, NumericsError } from '../errors.js';
import type { ProgressCallback } from '../events.js';
import type { Scheduler } from '../schedulers/scheduler.js';
import type { Tensor } from '../tensor/tensor.js';

/** One step's prediction. */
export interface NoisePrediction {
  /** ε (or the model output the scheduler's prediction_type names) [1, C, h, w]. */
  readonly noise: Tensor;
  /**
   * The latents the scheduler step starts from, when the predictor changed them before predicting
   * (DemoFusion's skip residual blends the noised upsampled latent in); default: the loop's latents.
   */
  readonly sample?: Tensor;
}

/**
 * A method's noise prediction for step `step` (0-based) at `timestep`, from the current latents
 * [1, C, h, w] (latent cells). It may emit its own 'window-batch' progress events.
 */
export type NoisePredictor = (latents: Tensor, step: number, timestep: number) => Promise<NoisePrediction>;

/** Where a loop reports to. */
export interface DenoiseLoopHooks {
  /** Stage number (1 = first pass) for messages and events. */
  readonly stage: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: ProgressCallback;
  /** Called with the latents after every step (diffusers' callback_on_step_end). */
  readonly onStepLatents?: (step: number, latents: Tensor) => void;
}

/**
 * Runs every timestep of `scheduler` from `latents` (already noised/scaled as the scheduler expects) and
 * returns the final latents. Throws AbortedError when the signal is aborted before a step, NumericsError
 * when a step leaves NaN or Inf.
 */
export async function denoise(scheduler: Scheduler, latents: Tensor, predict: NoisePredictor, hooks: DenoiseLoopHooks): Promise<Tensor> {
  let x = latents;
  const timesteps = scheduler.timesteps;
  for (let i = 0; i < timesteps.length; i++) {
    if (hooks.signal?.aborted) throw new AbortedError(`stopped at stage ${hooks.stage}, step ${i + 1}`);
    const t = timesteps[i]!;
    const { noise, sample } = await predict(x, i, t);
    x = scheduler.step(noise, t, sample ?? x, { stepIndex: i }).prevSample;
    assertFinite(x, `stage ${hooks.stage}, step ${i + 1}`);
    hooks.onStepLatents?.(i, x);
    hooks.onProgress?.({ type: 'step', stage: hooks.stage, step: i + 1, steps: timesteps.length });
  }
  return x;
}

/** Throws NumericsError if x holds NaN or Inf. */
export function assertFinite(x: Tensor, where: string): void {
  for (let i = 0; i < x.data.length; i++) {
    if (!Number.isFinite(x.data[i]!)) throw new NumericsError(`${where}: the latents contain ${Number.isNaN(x.data[i]!) ? 'NaN' : 'Inf'} (numerical overflow)`);
  }
}
