/**
 * The img2img start of a denoising pass (diffusers v0.27 StableDiffusion(XL)Img2ImgPipeline, steps 4-6 of
 * `__call__`: `get_timesteps`, `prepare_latents`): encode the image, sample the latent distribution, scale,
 * and noise it to the first timestep that `strength` keeps.
 *
 * Randomness follows the pipeline exactly (fixture README §8.1): with one generator, draw 0 is the
 * latent-distribution noise of `vae.encode(image).latent_dist.sample(generator)` and draw 1 the noise of
 * `scheduler.add_noise`. Euler's per-step draws (unused with s_churn = 0) come after them and change nothing.
 */
import { OptionsError } from '../errors.js';
import type { Scheduler, StepOptions } from '../schedulers/scheduler.js';
import type { RandomSource } from '../tensor/random.js';
import { tensor, type Tensor } from '../tensor/tensor.js';

/**
 * `get_timesteps`: how many of `steps` timesteps an img2img run keeps. diffusers truncates the float
 * product (`int(num_inference_steps * strength)`: 6·0.6 = 3.5999… → 3), so this does too.
 * `tStart` is the index of the first kept timestep.
 */
export function img2imgTimesteps(steps: number, strength: number): { readonly initTimestepCount: number; readonly tStart: number } {
  if (!(strength >= 0 && strength <= 1)) throw new OptionsError(`strength must be in [0, 1], got ${strength}`);
  const initTimestepCount = Math.min(Math.trunc(steps * strength), steps);
  return { initTimestepCount, tStart: Math.max(steps - initTimestepCount, 0) };
}

/**
 * A view of `scheduler` that starts at timestep index `tStart` (the run uses `timesteps[tStart:]`): its
 * `timesteps` are the kept ones and the step indices passed to it count from 0, as the pipelines' loops do;
 * they are shifted back to the full schedule's indices (diffusers' `set_begin_index(t_start)`). For
 * leading/linspace/trailing spacing no timestep repeats, so this is also what SDXL's timestep lookup finds.
 */
export function schedulerFrom(scheduler: Scheduler, tStart: number): Scheduler {
  if (tStart === 0) return scheduler;
  const kept = scheduler.timesteps.slice(tStart);
  const shift = (i: number | undefined): number | undefined => (i === undefined ? undefined : i + tStart);
  const overrides: Partial<Scheduler> = {
    timesteps: kept,
    setTimesteps: () => {
      throw new Error('schedulerFrom: set the timesteps of the underlying scheduler');
    },
    scaleModelInput: (sample, timestep, stepIndex) => scheduler.scaleModelInput(sample, timestep, shift(stepIndex)),
    inputDivisor: (stepIndex) => scheduler.inputDivisor(stepIndex + tStart),
    step: (out, timestep, sample, options: StepOptions = {}) => {
      const stepIndex = shift(options.stepIndex);
      return scheduler.step(out, timestep, sample, stepIndex === undefined ? options : { ...options, stepIndex });
    },
  };
  // A proxy rather than an object literal: every other member (present or added later) is the scheduler's own.
  return new Proxy(scheduler, {
    get(target, prop) {
      if (Object.prototype.hasOwnProperty.call(overrides, prop)) return overrides[prop as keyof Scheduler];
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(target) : v;
    },
  });
}

export interface Img2ImgStartArgs {
  /** The scheduler with `setTimesteps(steps)` already called. */
  readonly scheduler: Scheduler;
  readonly strength: number;
  /** Moments of vae.encode(image) at the pass's size, [1, C, h, w]. */
  readonly encode: () => Promise<{ readonly mean: Tensor; readonly logvar: Tensor }>;
  /** Encoder sample z → scheduler-side latents (scaling_factor, and latents_mean/std where the VAE has them). */
  readonly toLatents: (z: Tensor) => Tensor;
  /** The pipeline's generator: draws 0 and 1 are taken from it. */
  readonly random: RandomSource;
}

export interface Img2ImgStart {
  /** The scheduler over the kept timesteps (its step indices count from 0). */
  readonly scheduler: Scheduler;
  /** toLatents(mean + std · draw 0): diffusers' `init_latents` [1, C, h, w]. */
  readonly encodedLatents: Tensor;
  /** add_noise(encodedLatents, draw 1, first kept timestep): the latents entering step 0. */
  readonly noisyLatents: Tensor;
  /** Denoising steps the pass runs: int(steps · strength). */
  readonly stepsRun: number;
}

/**
 * `prepare_latents` of the img2img pipelines. With strength 0 no step runs and the noisy latents are the
 * encoded ones (diffusers refuses that case; here it is the input itself as the pass's result).
 */
export async function img2imgStart(a: Img2ImgStartArgs): Promise<Img2ImgStart> {
  const { initTimestepCount, tStart } = img2imgTimesteps(a.scheduler.numInferenceSteps, a.strength);
  // 1. encode and sample the latent distribution (draw 0), then scale
  const m = await a.encode(); // [1, C, h, w]
  const draw0 = a.random.randn(m.mean.shape);
  const sample = tensor(m.mean.shape);
  for (let i = 0; i < sample.data.length; i++) {
    const std = Math.fround(Math.exp(Math.fround(0.5 * m.logvar.data[i]!)));
    sample.data[i] = Math.fround(m.mean.data[i]! + Math.fround(std * draw0.data[i]!));
  }
  const encodedLatents = a.toLatents(sample);
  // 2. noise to the first kept timestep (draw 1)
  const noise = a.random.randn(m.mean.shape);
  const scheduler = schedulerFrom(a.scheduler, tStart);
  const noisyLatents = initTimestepCount > 0 ? a.scheduler.addNoise(encodedLatents, noise, scheduler.timesteps[0]!) : encodedLatents;
  return { scheduler, encodedLatents, noisyLatents, stepsRun: initTimestepCount };
}
