/**
 * The common surface of the diffusers-style schedulers (DDIMScheduler, EulerDiscreteScheduler as in
 * diffusers v0.27.2 SchedulerMixin usage by the pipelines). `step` and `scaleModelInput` are pure
 * functions of their arguments: the step index is passed in or looked up from the timestep like
 * diffusers' `index_for_timestep`, never kept as a hidden counter.
 */
import type { RandomSource } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * The scheduler classes: DDIMScheduler, EulerDiscreteScheduler, EulerAncestralDiscreteScheduler,
 * DPMSolverMultistepScheduler (dpmsolver++) and UniPCMultistepScheduler.
 */
export type SchedulerClassKind = 'ddim' | 'euler' | 'euler-a' | 'dpmsolver++' | 'unipc';

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
  /** Euler: noise used only when churn is active. Euler a: the step's noise (else drawn from the scheduler's generator). */
  readonly noise?: Tensor;
}

/** What a scheduler takes besides its config. */
export interface SchedulerExtras {
  /**
   * The pipeline's generator (diffusers' `generator` passed to `step`): Euler a draws one randn of the
   * sample's shape from it at every step, after whatever the pipeline drew before.
   */
  readonly generator?: RandomSource;
}

export interface StepResult {
  readonly prevSample: Tensor;
  readonly predOriginalSample: Tensor;
}

/**
 * A scheduler. The multistep solvers (DPM++ 2M, UniPC) keep the data predictions of earlier steps: their
 * `step(…, { stepIndex: i })` must be called once per denoising step, in order, starting from 0 (step 0
 * starts a new history, so each stage of a progressive method has its own).
 */
export interface Scheduler {
  readonly kind: SchedulerClassKind;
  /** Training ᾱ_t (float32, length num_train_timesteps). */
  readonly alphasCumprod: Float32Array;
  /** Inference timesteps, descending; empty until setTimesteps. */
  readonly timesteps: readonly number[];
  readonly numInferenceSteps: number;
  /** Factor the initial unit-variance noise is multiplied by. */
  readonly initNoiseSigma: number;
  setTimesteps(numInferenceSteps: number): void;
  scaleModelInput(sample: Tensor, timestep: number, stepIndex?: number): Tensor;
  /**
   * The divisor scale_model_input applies at step index k ∈ [0, timesteps.length]: √(σ_k²+1) in float32
   * for the Euler family (k = timesteps.length gives σ = 0, so 1), 1 for the others.
   */
  inputDivisor(stepIndex: number): number;
  step(modelOutput: Tensor, timestep: number, sample: Tensor, options?: StepOptions): StepResult;
  addNoise(original: Tensor, noise: Tensor, timestep: number): Tensor;
}

/** Throws unless the two tensors have the same number of elements. */
export function sameSize(what: string, a: Tensor, b: Tensor): void {
  if (a.data.length !== b.data.length) {
    throw new RangeError(`${what}: shapes [${a.shape}] and [${b.shape}] differ`);
  }
}
