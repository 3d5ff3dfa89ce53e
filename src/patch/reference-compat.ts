/**
 * The model-input divisor of a step (the scheduler's own: √(σ²+1) for the Euler family, 1 for the others), including the reference code's
 * scheduler-index quirk (spec §9 B1) for `--reference-compat` replays: there, the first patch batch of
 * a stage's first step sees σ = 0 (the index left at N by the previous phase), and every later batch of
 * step i is scaled with σ_{i+1}; the scheduler step itself always uses σ_i.
 */
import type { Scheduler } from '../schedulers/scheduler.js';

/** The scheduler's own scale_model_input divisor at step index k (k = N: after the last step). */
export function inputDivisorAt(scheduler: Scheduler, k: number): number {
  return scheduler.inputDivisor(k);
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
