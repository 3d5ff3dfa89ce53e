/**
 * The common surface of the diffusers-style schedulers (DDIMScheduler, EulerDiscreteScheduler as in
 * diffusers v0.27.2 SchedulerMixin usage by the pipelines). `step` and `scaleModelInput` are pure
 * functions of their arguments: the step index is passed in or looked up from the timestep like
 * diffusers' `index_for_timestep`, never kept as a hidden counter.
 */
import type { Tensor } from '../tensor/tensor.js';

export interface StepOptions {
  /** Index into `timesteps` of this step; looked up from the timestep when omitted. (Euler) */
  readonly stepIndex?: number;
  /** DDIM η (0 = deterministic DDIM). */
  readonly eta?: number;
  /** DDIM noise for η > 0 (diffusers' `variance_noise`); required when η > 0. */
  readonly varianceNoise?: Tensor;
  /** DDIM: recompute ε from the clipped x0 (diffusers' `use_clipped_model_output`). */
  readonly useClippedModelOutput?: boolean;
  /** Euler stochastic churn; 0 (the default) makes the step deterministic. */
  readonly sChurn?: number;
  readonly sTmin?: number;
  readonly sTmax?: number;
  readonly sNoise?: number;
  /** Euler noise used only when churn is active. */
  readonly noise?: Tensor;
}

export interface StepResult {
  readonly prevSample: Tensor;
  readonly predOriginalSample: Tensor;
}

export interface Scheduler {
  readonly kind: 'ddim' | 'euler';
  /** Training ᾱ_t (float32, length num_train_timesteps). */
  readonly alphasCumprod: Float32Array;
  /** Inference timesteps, descending; empty until setTimesteps. */
  readonly timesteps: readonly number[];
  readonly numInferenceSteps: number;
  /** Factor the initial unit-variance noise is multiplied by. */
  readonly initNoiseSigma: number;
  setTimesteps(numInferenceSteps: number): void;
  scaleModelInput(sample: Tensor, timestep: number, stepIndex?: number): Tensor;
  step(modelOutput: Tensor, timestep: number, sample: Tensor, options?: StepOptions): StepResult;
  addNoise(original: Tensor, noise: Tensor, timestep: number): Tensor;
}

/** Throws unless the two tensors have the same number of elements. */
export function sameSize(what: string, a: Tensor, b: Tensor): void {
  if (a.data.length !== b.data.length) {
    throw new RangeError(`${what}: shapes [${a.shape}] and [${b.shape}] differ`);
  }
}
