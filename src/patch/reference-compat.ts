/**
 * The model-input divisors of the patch and dilated batches of a step: the scheduler's own
 * (Scheduler.inputDivisor: √(σ²+1) for the Euler family, 1 for the others), or, with the reference code's
 * scheduler-index quirk (spec §9 B1) for `--reference-compat` replays: there, the first patch batch of
 * a stage's first step sees σ = 0 (the index left at N by the previous phase), and every later batch of
 * step i is scaled with σ_{i+1}; the scheduler step itself always uses σ_i.
 */
import type { Scheduler } from '../schedulers/scheduler.js';

/** Divisors for the patch and dilated batches of step i (0-based). */
export function branchDivisors(scheduler: Scheduler, i: number, referenceCompat: boolean): { patch: (batch: number) => number; dilated: (batch: number) => number } {
  if (!referenceCompat) {
    const d = scheduler.inputDivisor(i);
    return { patch: () => d, dilated: () => d };
  }
  const n = scheduler.timesteps.length;
  const first = scheduler.inputDivisor(i === 0 ? n : i);
  const later = scheduler.inputDivisor(i + 1);
  return { patch: (b) => (b === 0 ? first : later), dilated: () => later };
}
