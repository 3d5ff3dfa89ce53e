/**
 * Timesteps and σ tables of the multistep solvers, ported from diffusers v0.27.2
 * schedulers/scheduling_dpmsolver_multistep.py and scheduling_unipc_multistep.py (`set_timesteps`,
 * `_convert_to_karras`, `_sigma_to_t`, `_sigma_to_alpha_sigma_t`). Unlike DDIM/Euler, "leading" spacing
 * divides by n + 1 (10 steps: 901, 811, …, 91), and Karras sigmas end at timestep 0 and may repeat a
 * timestep. Float64 where diffusers uses numpy float64, float32 (`Math.fround`) where it uses torch.
 */
import { linspaceF64, roundHalfEven, trainSigmas, type TimestepSpacing } from './schedule.js';

const f = Math.fround;

/** Integer timesteps, descending, for n steps below `lastTimestep` (num_train_timesteps unless λ is clipped). */
export function multistepTimesteps(spacing: TimestepSpacing, n: number, numTrainTimesteps: number, lastTimestep: number, stepsOffset: number): number[] {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setTimesteps: number of steps must be a positive integer, got ${n}`);
  let ts: number[];
  if (spacing === 'linspace') {
    ts = linspaceF64(0, lastTimestep - 1, n + 1).map(roundHalfEven).reverse().slice(0, n);
  } else if (spacing === 'leading') {
    const ratio = Math.floor(lastTimestep / (n + 1));
    ts = [];
    for (let i = n; i >= 1; i--) ts.push(i * ratio + stepsOffset);
  } else {
    // np.arange(last, 0, -T/n).round() - 1; numpy fills arange as start + i*((start + step) - start).
    const ratio = numTrainTimesteps / n;
    const delta = (lastTimestep - ratio) - lastTimestep;
    const len = Math.ceil(lastTimestep / ratio);
    ts = [];
    for (let i = 0; i < len; i++) ts.push(roundHalfEven(lastTimestep + i * delta) - 1);
  }
  return ts;
}

/** Karras et al. 2022 eq. 5 with ρ = 7 between σ_max and σ_min, n values (float64, like numpy). */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, n: number): number[] {
  const rho = 7;
  const minInv = sigmaMin ** (1 / rho);
  const maxInv = sigmaMax ** (1 / rho);
  return linspaceF64(0, 1, n).map((r) => (maxInv + r * (minInv - maxInv)) ** rho);
}

/**
 * diffusers `_sigma_to_t`: the fractional training timestep of σ by linear interpolation of log σ in the
 * training table. `logSigmas` is the float32 log of the ascending table; the comparison runs in float32
 * as numpy 1.x does for a float64 scalar against a float32 array.
 */
export function sigmaToT(sigma: number, logSigmas: Float32Array): number {
  const logSigma = Math.log(Math.max(sigma, 1e-10));
  const ls32 = f(logSigma);
  let low = 0;
  for (let i = 0; i < logSigmas.length; i++) if (f(ls32 - logSigmas[i]!) >= 0) low = i;
  low = Math.min(low, logSigmas.length - 2);
  const lo = logSigmas[low]!;
  const hi = logSigmas[low + 1]!;
  const w = Math.min(Math.max((lo - logSigma) / (lo - hi), 0), 1);
  return (1 - w) * low + w * (low + 1);
}

/** The inference schedule: integer timesteps (length n) and float32 σ (length n + 1, the final one appended). */
export interface MultistepSchedule {
  readonly timesteps: number[];
  readonly sigmas: Float32Array;
}

export interface MultistepScheduleConfig {
  readonly numTrainTimesteps: number;
  readonly timestepSpacing: TimestepSpacing;
  readonly stepsOffset: number;
  readonly useKarrasSigmas: boolean;
  /** Timesteps stay below this (DPM's lambda_min_clipped; num_train_timesteps otherwise). */
  readonly lastTimestep: number;
  /**
   * The σ appended after the last step: 'zero'; 'sigma_min' = σ(0) of the training table; 'repeat' = the
   * last Karras σ again and σ(0) otherwise (UniPC 0.27.2).
   */
  readonly finalSigma: 'zero' | 'sigma_min' | 'repeat';
}

/** set_timesteps of DPMSolverMultistep / UniPCMultistep for `alphasCumprod` (float32 ᾱ). */
export function multistepSchedule(c: MultistepScheduleConfig, alphasCumprod: Float32Array, n: number): MultistepSchedule {
  const table = trainSigmas(alphasCumprod); // ascending in t
  let timesteps = multistepTimesteps(c.timestepSpacing, n, c.numTrainTimesteps, c.lastTimestep, c.stepsOffset);
  let sig: number[];
  if (c.useKarrasSigmas) {
    const logSigmas = table.map((s) => f(Math.log(s)));
    sig = karrasSigmas(table[0]!, table[table.length - 1]!, n);
    timesteps = sig.map((s) => roundHalfEven(sigmaToT(s, logSigmas)));
  } else {
    // np.interp at integer timesteps picks table entries exactly.
    sig = timesteps.map((t) => table[t]!);
  }
  let last: number;
  if (c.finalSigma === 'zero') last = 0;
  else if (c.finalSigma === 'repeat' && c.useKarrasSigmas) last = sig[sig.length - 1]!;
  else last = table[0]!;
  const sigmas = new Float32Array(sig.length + 1);
  sigmas.set(sig);
  sigmas[sig.length] = last;
  return { timesteps, sigmas };
}

/** α_t = 1/√(σ²+1), σ_t = σ·α_t and λ = log α_t − log σ_t, each a float32 torch scalar. */
export function alphaSigmaLambda(sigma: number): { alpha: number; sigmaT: number; lambda: number } {
  const alpha = f(1 / f(Math.sqrt(f(f(sigma * sigma) + 1))));
  const sigmaT = f(sigma * alpha);
  return { alpha, sigmaT, lambda: f(f(Math.log(alpha)) - f(Math.log(sigmaT))) };
}

/** The timestep below which DPM's λ clipping stops the schedule (lambda_min_clipped = −∞: num_train_timesteps). */
export function clippedLastTimestep(alphasCumprod: Float32Array, lambdaMinClipped: number): number {
  const T = alphasCumprod.length;
  if (lambdaMinClipped === -Infinity) return T;
  // torch.searchsorted(flip(λ_t), value): the count of flipped λ below the value.
  let below = 0;
  for (let i = T - 1; i >= 0; i--) {
    const a = alphasCumprod[i]!;
    const lambda = f(f(Math.log(f(Math.sqrt(a)))) - f(Math.log(f(Math.sqrt(f(1 - a))))));
    if (lambda < lambdaMinClipped) below++;
  }
  return T - below;
}

/** diffusers index_for_timestep of the multistep solvers: the first match, the second if repeated, the last index if absent. */
export function multistepIndexForTimestep(timesteps: readonly number[], timestep: number): number {
  const hits: number[] = [];
  for (let i = 0; i < timesteps.length; i++) if (timesteps[i] === timestep) hits.push(i);
  if (hits.length === 0) return timesteps.length - 1;
  return hits[hits.length > 1 ? 1 : 0]!;
}
