/**
 * Noise-schedule pieces shared by the schedulers, ported from diffusers v0.27.2
 * (schedulers/scheduling_ddim.py, scheduling_euler_discrete.py): beta schedules, alphas_cumprod,
 * inference timesteps per `timestep_spacing`, Euler sigmas, and the scheduler_config.json parser.
 * Arithmetic follows torch/numpy's float32 and float64 steps so that results match diffusers bit for bit
 * where the fixtures allow checking.
 */

import { ConfigError, OptionsError, describeValue } from '../errors.js';
import { fma32 } from '../tensor/fma32.js';

const f = Math.fround;

export type BetaSchedule = 'linear' | 'scaled_linear' | 'squaredcos_cap_v2';
export type TimestepSpacing = 'leading' | 'trailing' | 'linspace';
export type PredictionType = 'epsilon' | 'v_prediction' | 'sample';

/**
 * The validated contents of a scheduler_config.json. Keys absent from the file stay undefined so that
 * each scheduler can apply its own diffusers default (they differ, e.g. timestep_spacing is "leading"
 * for DDIM but "linspace" for Euler), exactly as `X.from_config(other.config)` does.
 */
export interface SchedulerConfig {
  readonly className?: string;
  readonly numTrainTimesteps?: number;
  readonly betaStart?: number;
  readonly betaEnd?: number;
  readonly betaSchedule?: BetaSchedule;
  readonly trainedBetas?: readonly number[] | null;
  readonly predictionType?: PredictionType;
  readonly timestepSpacing?: TimestepSpacing;
  readonly stepsOffset?: number;
  readonly rescaleBetasZeroSnr?: boolean;
  // DDIM
  readonly clipSample?: boolean;
  readonly clipSampleRange?: number;
  readonly setAlphaToOne?: boolean;
  readonly thresholding?: boolean;
  // Euler
  readonly interpolationType?: 'linear' | 'log_linear';
  readonly useKarrasSigmas?: boolean;
  readonly timestepType?: 'discrete' | 'continuous';
  // DPMSolverMultistep / UniPCMultistep (see multistep-config.ts for what each accepts)
  readonly solverOrder?: number;
  readonly algorithmType?: string;
  readonly solverType?: string;
  readonly lowerOrderFinal?: boolean;
  readonly eulerAtFinal?: boolean;
  readonly finalSigmasType?: 'zero' | 'sigma_min';
  readonly lambdaMinClipped?: number;
  readonly varianceType?: string | null;
  readonly useLuLambdas?: boolean;
  readonly predictX0?: boolean;
  readonly disableCorrector?: readonly number[];
  readonly solverP?: unknown;
}

/** Largest num_train_timesteps accepted. */
export const MAX_TRAIN_TIMESTEPS = 1_000_000;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Validates a parsed scheduler_config.json. Unknown keys are ignored; bad values raise ConfigError naming file
 * and field. Values the chosen class cannot honour are refused when that class is built (createScheduler).
 */
export function parseSchedulerConfig(json: unknown, file: string): SchedulerConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ConfigError(`${file}: scheduler config must be a JSON object`);
  }
  const o = json as Record<string, unknown>;
  const out: Mutable<SchedulerConfig> = {};
  const bad = (key: string, want: string): never => {
    throw new ConfigError(`${file}: ${key} must be ${want}, got ${describeValue(o[key])}`);
  };
  const has = (key: string) => o[key] !== undefined;
  const num = (key: string, check: (v: number) => boolean, want: string): number | undefined => {
    if (!has(key)) return undefined;
    const v = o[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || !check(v)) bad(key, want);
    return v as number;
  };
  const bool = (key: string): boolean | undefined => {
    if (!has(key)) return undefined;
    if (typeof o[key] !== 'boolean') bad(key, 'true or false');
    return o[key] as boolean;
  };
  const oneOf = <T extends string>(key: string, allowed: readonly T[]): T | undefined => {
    if (!has(key)) return undefined;
    const v = o[key];
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) bad(key, `one of ${allowed.map((a) => `"${a}"`).join(', ')}`);
    return v as T;
  };

  if (has('_class_name')) {
    if (typeof o._class_name !== 'string') bad('_class_name', 'a string');
    out.className = o._class_name as string;
  }
  // Bounded: the schedulers allocate several float tables of this length (every released model uses 1000).
  out.numTrainTimesteps = num('num_train_timesteps', (v) => Number.isInteger(v) && v >= 1 && v <= MAX_TRAIN_TIMESTEPS, `an integer in [1, ${MAX_TRAIN_TIMESTEPS}]`);
  out.betaStart = num('beta_start', (v) => v > 0 && v < 1, 'a number in (0, 1)');
  out.betaEnd = num('beta_end', (v) => v > 0 && v < 1, 'a number in (0, 1)');
  out.betaSchedule = oneOf('beta_schedule', ['linear', 'scaled_linear', 'squaredcos_cap_v2'] as const);
  if (o.trained_betas === null) out.trainedBetas = null;
  else if (has('trained_betas')) {
    const tb = o.trained_betas;
    if (!Array.isArray(tb) || tb.length === 0 || !tb.every((b) => typeof b === 'number' && b > 0 && b < 1)) {
      bad('trained_betas', 'null or a non-empty list of numbers in (0, 1)');
    }
    out.trainedBetas = tb as number[];
  }
  out.predictionType = oneOf('prediction_type', ['epsilon', 'v_prediction', 'sample'] as const);
  out.timestepSpacing = oneOf('timestep_spacing', ['leading', 'trailing', 'linspace'] as const);
  out.stepsOffset = num('steps_offset', (v) => Number.isInteger(v) && v >= 0, 'a non-negative integer');
  out.rescaleBetasZeroSnr = bool('rescale_betas_zero_snr');
  out.clipSample = bool('clip_sample');
  out.clipSampleRange = num('clip_sample_range', (v) => v > 0, 'a positive number');
  out.setAlphaToOne = bool('set_alpha_to_one');
  // Options of one class (thresholding: DDIM; use_karras_sigmas: Euler) are refused by that class's
  // constructor, not here: a config's options must not block replacing its scheduler by another class,
  // which ignores them as diffusers' from_config does.
  out.thresholding = bool('thresholding');
  out.interpolationType = oneOf('interpolation_type', ['linear', 'log_linear'] as const);
  // Karras sigmas: DPMSolverMultistep and UniPCMultistep honour them; EulerDiscrete refuses them when built.
  out.useKarrasSigmas = bool('use_karras_sigmas');
  out.timestepType = oneOf('timestep_type', ['discrete', 'continuous'] as const);
  parseMultistepKeys(o, out, bad);
  if (out.stepsOffset !== undefined && out.stepsOffset >= (out.numTrainTimesteps ?? 1000)) {
    bad('steps_offset', `less than num_train_timesteps (${out.numTrainTimesteps ?? 1000})`);
  }
  if (out.betaStart !== undefined && out.betaEnd !== undefined && out.betaEnd < out.betaStart) {
    bad('beta_end', `>= beta_start (${out.betaStart})`);
  }
  if (out.trainedBetas && out.numTrainTimesteps !== undefined && out.trainedBetas.length !== out.numTrainTimesteps) {
    bad('trained_betas', `a list of num_train_timesteps (${out.numTrainTimesteps}) values`);
  }
  for (const k of Object.keys(out) as (keyof SchedulerConfig)[]) if (out[k] === undefined) delete out[k];
  return out;
}

/** The multistep solvers' keys (diffusers writes lambda_min_clipped = -inf as the string "-inf" or null-free JSON). */
function parseMultistepKeys(o: Record<string, unknown>, out: Mutable<SchedulerConfig>, bad: (key: string, want: string) => never): void {
  const has = (key: string) => o[key] !== undefined && o[key] !== null;
  const str = (key: string): string | undefined => {
    if (!has(key)) return undefined;
    if (typeof o[key] !== 'string') bad(key, 'a string');
    return o[key] as string;
  };
  const bool = (key: string): boolean | undefined => {
    if (!has(key)) return undefined;
    if (typeof o[key] !== 'boolean') bad(key, 'true or false');
    return o[key] as boolean;
  };
  if (has('solver_order')) {
    const v = o.solver_order;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 3) bad('solver_order', '1, 2 or 3');
    out.solverOrder = v as number;
  }
  out.algorithmType = str('algorithm_type');
  out.solverType = str('solver_type');
  out.lowerOrderFinal = bool('lower_order_final');
  out.eulerAtFinal = bool('euler_at_final');
  const fst = str('final_sigmas_type');
  if (fst !== undefined && fst !== 'zero' && fst !== 'sigma_min') bad('final_sigmas_type', 'one of "zero", "sigma_min"');
  out.finalSigmasType = fst as 'zero' | 'sigma_min' | undefined;
  if (has('lambda_min_clipped')) {
    const v = o.lambda_min_clipped;
    const n = v === '-inf' ? -Infinity : v;
    if (typeof n !== 'number' || Number.isNaN(n)) bad('lambda_min_clipped', 'a number or "-inf"');
    out.lambdaMinClipped = n as number;
  }
  out.varianceType = str('variance_type');
  out.useLuLambdas = bool('use_lu_lambdas');
  out.predictX0 = bool('predict_x0');
  if (has('disable_corrector')) {
    const v = o.disable_corrector;
    if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x) && x >= 0)) bad('disable_corrector', 'a list of step indices');
    out.disableCorrector = v as number[];
  }
  if (has('solver_p')) out.solverP = o.solver_p;
}

/**
 * torch.linspace(start, end, steps, dtype=float32) on CPU (aten/src/ATen/native/cpu/RangeFactoriesKernel.cpp):
 * float32 step; values before `steps/2` count up from start, the rest down from end. The vectorised
 * fill works in blocks of 8 (AVX2) whose side is chosen by the block's first index and whose lanes are
 * `base + j*step`; the last `steps % 16` values take the scalar path. Every multiply-add is fused, as
 * GCC compiles it, which is what makes ᾱ bit-identical to diffusers.
 */
export function linspaceF32(start: number, end: number, steps: number): Float32Array {
  const out = new Float32Array(steps);
  if (steps === 1) {
    out[0] = start;
    return out;
  }
  const s = f(start);
  const e = f(end);
  const step = f(f(e - s) / (steps - 1));
  const halfway = Math.floor(steps / 2);
  const at = (i: number) => (i < halfway ? fma32(step, i, s) : fma32(-step, steps - i - 1, e));
  const vecEnd = steps - (steps % 16);
  let i = 0;
  for (; i < vecEnd; i += 8) {
    const base = at(i);
    out[i] = base;
    for (let j = 1; j < 8; j++) out[i + j] = fma32(j, step, base);
  }
  for (; i < steps; i++) out[i] = at(i);
  return out;
}

/** diffusers betas_for_alpha_bar with the cosine alpha_bar (float64 math, stored as float32). */
function cosineBetas(n: number, maxBeta = 0.999): Float32Array {
  const alphaBar = (t: number) => Math.cos(((t + 0.008) / 1.008) * Math.PI / 2) ** 2;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.min(1 - alphaBar((i + 1) / n) / alphaBar(i / n), maxBeta);
  return out;
}

/** diffusers rescale_zero_terminal_snr (Lin et al. 2023, Algorithm 1), in float32 tensor steps. */
function rescaleZeroTerminalSnr(betas: Float32Array): Float32Array {
  const n = betas.length;
  const sqrtAc = new Float32Array(n);
  let acc = 1;
  for (let i = 0; i < n; i++) {
    acc *= f(1 - betas[i]!);
    sqrtAc[i] = f(Math.sqrt(f(acc)));
  }
  const a0 = sqrtAc[0]!;
  const aT = sqrtAc[n - 1]!;
  for (let i = 0; i < n; i++) sqrtAc[i] = f(f(f(sqrtAc[i]! - aT) * a0) / f(a0 - aT));
  const ac = sqrtAc.map((v) => f(v * v));
  const out = new Float32Array(n);
  out[0] = f(1 - ac[0]!);
  for (let i = 1; i < n; i++) out[i] = f(1 - f(ac[i]! / ac[i - 1]!));
  return out;
}

/** The keys that define the training betas, shared by every scheduler here. */
export interface BetaScheduleConfig {
  readonly numTrainTimesteps: number;
  readonly betaStart: number;
  readonly betaEnd: number;
  readonly betaSchedule: BetaSchedule;
  readonly trainedBetas: readonly number[] | null;
}

/**
 * The beta keys with the constructor defaults for keys the config lacks; DDIMScheduler, EulerDiscreteScheduler,
 * DPMSolverMultistepScheduler and UniPCMultistepScheduler all declare the same ones (1000 steps, linear 1e-4..0.02).
 */
export function betaScheduleDefaults(c: SchedulerConfig): BetaScheduleConfig {
  return {
    numTrainTimesteps: c.numTrainTimesteps ?? 1000,
    betaStart: c.betaStart ?? 0.0001,
    betaEnd: c.betaEnd ?? 0.02,
    betaSchedule: c.betaSchedule ?? 'linear',
    trainedBetas: c.trainedBetas ?? null,
  };
}

/** The training betas of a config (float32, like diffusers' torch tensors). */
export function makeBetas(c: BetaScheduleConfig & { readonly rescaleBetasZeroSnr?: boolean }): Float32Array {
  let betas: Float32Array;
  if (c.trainedBetas) betas = Float32Array.from(c.trainedBetas);
  else if (c.betaSchedule === 'linear') betas = linspaceF32(c.betaStart, c.betaEnd, c.numTrainTimesteps);
  else if (c.betaSchedule === 'scaled_linear') {
    betas = linspaceF32(Math.sqrt(c.betaStart), Math.sqrt(c.betaEnd), c.numTrainTimesteps).map((b) => f(b * b));
  } else betas = cosineBetas(c.numTrainTimesteps);
  return c.rescaleBetasZeroSnr ? rescaleZeroTerminalSnr(betas) : betas;
}

/** torch.cumprod(1 - betas) on CPU: float32 alphas, product accumulated in float64, each output rounded. */
export function alphasCumprod(betas: Float32Array): Float32Array {
  const out = new Float32Array(betas.length);
  let acc = 1;
  for (let i = 0; i < betas.length; i++) {
    acc *= f(1 - betas[i]!);
    out[i] = acc;
  }
  return out;
}

/** numpy's round (half to even). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** numpy.linspace(start, stop, num) in float64 (the last value is exactly stop). */
export function linspaceF64(start: number, stop: number, num: number): number[] {
  if (num === 1) return [start];
  const step = (stop - start) / (num - 1);
  const out: number[] = [];
  for (let i = 0; i < num; i++) out.push(i * step + start);
  out[num - 1] = stop;
  return out;
}

/**
 * Inference timesteps, descending, per diffusers `set_timesteps`. `integer` selects DDIM's int64 rule
 * (linspace values rounded); Euler keeps linspace values fractional (float32).
 */
export function spacedTimesteps(
  spacing: TimestepSpacing,
  n: number,
  numTrainTimesteps: number,
  stepsOffset: number,
  integer: boolean,
): number[] {
  const T = numTrainTimesteps;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setTimesteps: number of steps must be a positive integer, got ${n}`);
  if (n > T) throw new OptionsError(`${n} denoising steps exceed the scheduler's num_train_timesteps (${T}); use at most ${T} steps`);
  let ts: number[];
  if (spacing === 'linspace') {
    ts = linspaceF64(0, T - 1, n).reverse();
    ts = integer ? ts.map(roundHalfEven) : ts.map(f);
  } else if (spacing === 'leading') {
    const ratio = Math.floor(T / n);
    ts = [];
    for (let i = n - 1; i >= 0; i--) ts.push(i * ratio + stepsOffset);
  } else {
    // np.round(np.arange(T, 0, -T/n)) - 1; numpy fills arange as start + i*(second - first).
    const ratio = T / n;
    const delta = (T - ratio) - T;
    const len = Math.ceil((0 - T) / -ratio);
    ts = [];
    for (let i = 0; i < len; i++) ts.push(roundHalfEven(T + i * delta) - 1);
  }
  // DDIM indexes ᾱ by these timesteps; a large steps_offset (or n = T with "leading" spacing, where diffusers
  // itself fails with an IndexError) would index past the table in the middle of a run instead of here.
  if (integer && ts.some((t) => t < 0 || t >= T)) {
    throw new ConfigError(`scheduler_config.json: ${n} "${spacing}"-spaced steps with steps_offset ${stepsOffset} give timestep ${ts.find((t) => t < 0 || t >= T)}, outside [0, ${T}) (num_train_timesteps); use fewer steps or a smaller steps_offset`);
  }
  return ts;
}

/** Full Karras-style sigma table sqrt((1 - ᾱ)/ᾱ) in float32, indexed by training timestep. */
export function trainSigmas(alphasCumprod: Float32Array): Float32Array {
  return alphasCumprod.map((a) => f(Math.sqrt(f(f(1 - a) / a))));
}

/** numpy.interp(x, arange(len(fp)), fp) in float64. */
export function interpIndex(x: number, fp: Float32Array): number {
  const last = fp.length - 1;
  if (x <= 0) return fp[0]!;
  if (x >= last) return fp[last]!;
  const j = Math.floor(x);
  if (j === x) return fp[j]!;
  const slope = fp[j + 1]! - fp[j]!;
  return slope * (x - j) + fp[j]!;
}
