/**
 * The model-input divisor of a step, √(σ²+1) for Euler (1 for DDIM), including the reference code's
 * scheduler-index quirk (spec §9 B1) for `--reference-compat` replays: there, the first patch batch of
 * a stage's first step sees σ = 0 (the index left at N by the previous phase), and every later batch of
 * step i is scaled with σ_{i+1}; the scheduler step itself always uses σ_i.
 */
import { EulerDiscreteScheduler } from '../schedulers/euler-discrete.js';
import type { Scheduler } from '../schedulers/scheduler.js';

/** √(σ_k² + 1) in float32 like EulerDiscreteScheduler.scale_model_input; k = N gives σ = 0. */
export function inputDivisorAt(scheduler: Scheduler, k: number): number {
  if (!(scheduler instanceof EulerDiscreteScheduler)) return 1;
  const f = Math.fround;
  const sigma = scheduler.sigmaAt(k);
  return f(Math.sqrt(f(f(sigma * sigma) + 1)));
}

/** Divisors for the patch and dilated batches of step i (0-based). */
export function branchDivisors(scheduler: Scheduler, i: number, referenceCompat: boolean): { patch: (batch: number) => number; dilated: (batch: number) => number } {
  if (!referenceCompat) {
    const d = inputDivisorAt(scheduler, i);
    return { patch: () => d, dilated: () => d };
  }
  const n = scheduler.timesteps.length;
  const first = inputDivisorAt(scheduler, i === 0 ? n : i);
  const later = inputDivisorAt(scheduler, i + 1);
  return { patch: (b) => (b === 0 ? first : later), dilated: () => later };
}
