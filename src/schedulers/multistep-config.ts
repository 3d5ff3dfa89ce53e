/**
 * Resolved configs of DPMSolverMultistepScheduler and UniPCMultistepScheduler: the diffusers v0.27.2
 * constructor defaults for keys a scheduler_config.json lacks (what `X.from_config(config)` does), and a
 * RangeError for the variants this port does not implement (createScheduler turns it into ConfigError).
 */
import { makeBetas, alphasCumprod, betaScheduleDefaults, type BetaScheduleConfig, type PredictionType, type SchedulerConfig, type TimestepSpacing } from './schedule.js';

export interface CommonMultistepConfig extends BetaScheduleConfig {
  readonly predictionType: PredictionType;
  readonly timestepSpacing: TimestepSpacing;
  readonly stepsOffset: number;
  readonly useKarrasSigmas: boolean;
  readonly rescaleBetasZeroSnr: boolean;
  readonly solverOrder: number;
  readonly lowerOrderFinal: boolean;
}

export interface DPMSolverConfig extends CommonMultistepConfig {
  readonly algorithmType: 'dpmsolver++';
  readonly solverType: 'midpoint' | 'heun';
  readonly eulerAtFinal: boolean;
  readonly finalSigmasType: 'zero' | 'sigma_min';
  readonly lambdaMinClipped: number;
}

export interface UniPCConfig extends CommonMultistepConfig {
  readonly solverType: 'bh1' | 'bh2';
  readonly disableCorrector: readonly number[];
}

function common(c: SchedulerConfig): CommonMultistepConfig {
  return {
    ...betaScheduleDefaults(c),
    predictionType: c.predictionType ?? 'epsilon',
    timestepSpacing: c.timestepSpacing ?? 'linspace',
    stepsOffset: c.stepsOffset ?? 0,
    useKarrasSigmas: c.useKarrasSigmas ?? false,
    rescaleBetasZeroSnr: c.rescaleBetasZeroSnr ?? false,
    solverOrder: c.solverOrder ?? 2,
    lowerOrderFinal: c.lowerOrderFinal ?? true,
  };
}

function refuse(cls: string, what: string): never {
  throw new RangeError(`${cls}: ${what} is not supported`);
}

/** DPMSolverMultistepScheduler's defaults; only dpmsolver++ of order 1 or 2 is implemented. */
export function resolveDPMSolverConfig(c: SchedulerConfig = {}): DPMSolverConfig {
  const cls = 'DPMSolverMultistepScheduler';
  const algorithm = c.algorithmType ?? 'dpmsolver++';
  // diffusers maps the deprecated "deis" to dpmsolver++ and bh1/bh2 to midpoint.
  if (algorithm !== 'dpmsolver++' && algorithm !== 'deis') refuse(cls, `algorithm_type "${algorithm}" (only "dpmsolver++")`);
  const solver = c.solverType ?? 'midpoint';
  if (!['midpoint', 'heun', 'bh1', 'bh2'].includes(solver)) refuse(cls, `solver_type "${solver}"`);
  const base = common(c);
  if (base.solverOrder > 2) refuse(cls, `solver_order ${base.solverOrder} (only 1 and 2)`);
  if (c.useLuLambdas) refuse(cls, 'use_lu_lambdas');
  if (c.thresholding) refuse(cls, 'thresholding = true (dynamic thresholding)');
  if (c.varianceType) refuse(cls, `variance_type "${c.varianceType}"`);
  return {
    ...base,
    algorithmType: 'dpmsolver++',
    solverType: solver === 'heun' ? 'heun' : 'midpoint',
    eulerAtFinal: c.eulerAtFinal ?? false,
    finalSigmasType: c.finalSigmasType ?? 'zero',
    lambdaMinClipped: c.lambdaMinClipped ?? -Infinity,
  };
}

/** UniPCMultistepScheduler's defaults; the data-prediction (predict_x0) UniPC of order 1 or 2 is implemented. */
export function resolveUniPCConfig(c: SchedulerConfig = {}): UniPCConfig {
  const cls = 'UniPCMultistepScheduler';
  const solver = c.solverType ?? 'bh2';
  if (solver !== 'bh1' && solver !== 'bh2') refuse(cls, `solver_type "${solver}"`);
  const base = common(c);
  if (base.solverOrder > 2) refuse(cls, `solver_order ${base.solverOrder} (only 1 and 2)`);
  if (c.predictX0 === false) refuse(cls, 'predict_x0 = false');
  if (c.solverP !== undefined) refuse(cls, 'solver_p');
  if (c.thresholding) refuse(cls, 'thresholding = true (dynamic thresholding)');
  return { ...base, solverType: solver, disableCorrector: c.disableCorrector ?? [] };
}

/** Training ᾱ of a resolved config; zero-SNR rescaling leaves ᾱ_T = 0, which diffusers replaces by 2^-24. */
export function configAlphasCumprod(c: CommonMultistepConfig): Float32Array {
  const ac = alphasCumprod(makeBetas(c));
  if (c.rescaleBetasZeroSnr) ac[ac.length - 1] = 2 ** -24;
  return ac;
}
