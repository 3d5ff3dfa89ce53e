/**
 * DDIM sampler (Song et al. 2021, eq. 12), a port of diffusers v0.27.2 schedulers/scheduling_ddim.py
 * (DDIMScheduler without dynamic thresholding). Scalars are float32 tensors in diffusers, so every
 * operation here rounds to float32 in the same order.
 */
import { tensor, type Tensor } from '../tensor/tensor.js';
import { alphasCumprod, makeBetas, spacedTimesteps, betaScheduleDefaults, type BetaScheduleConfig, type PredictionType, type SchedulerConfig, type TimestepSpacing } from './schedule.js';
import { sameSize, type Scheduler, type StepOptions, type StepResult } from './scheduler.js';

const f = Math.fround;
const sqrtF = (x: number) => f(Math.sqrt(x));

export interface DDIMConfig extends BetaScheduleConfig {
  readonly clipSample: boolean;
  readonly clipSampleRange: number;
  readonly setAlphaToOne: boolean;
  readonly stepsOffset: number;
  readonly predictionType: PredictionType;
  readonly timestepSpacing: TimestepSpacing;
  readonly rescaleBetasZeroSnr: boolean;
}

/** DDIMScheduler's constructor defaults for keys the config lacks. */
export function resolveDDIMConfig(c: SchedulerConfig = {}): DDIMConfig {
  return {
    ...betaScheduleDefaults(c),
    clipSample: c.clipSample ?? true,
    clipSampleRange: c.clipSampleRange ?? 1,
    setAlphaToOne: c.setAlphaToOne ?? true,
    stepsOffset: c.stepsOffset ?? 0,
    predictionType: c.predictionType ?? 'epsilon',
    timestepSpacing: c.timestepSpacing ?? 'leading',
    rescaleBetasZeroSnr: c.rescaleBetasZeroSnr ?? false,
  };
}

export class DDIMScheduler implements Scheduler {
  readonly kind = 'ddim' as const;
  readonly config: DDIMConfig;
  readonly betas: Float32Array;
  readonly alphasCumprod: Float32Array;
  /** ᾱ used as "previous" after the last step: 1, or ᾱ_0 when set_alpha_to_one is false. */
  readonly finalAlphaCumprod: number;
  readonly initNoiseSigma = 1;
  private ts: number[] = [];
  private n = 0;

  constructor(config: SchedulerConfig = {}) {
    this.config = resolveDDIMConfig(config);
    if (config.thresholding) throw new RangeError('thresholding is true: DDIMScheduler\'s dynamic thresholding is not supported (set it to false, or choose another scheduler)');
    this.betas = makeBetas(this.config);
    this.alphasCumprod = alphasCumprod(this.betas);
    this.finalAlphaCumprod = this.config.setAlphaToOne ? 1 : this.alphasCumprod[0]!;
  }

  get timesteps(): readonly number[] {
    return this.ts;
  }

  get numInferenceSteps(): number {
    return this.n;
  }

  setTimesteps(numInferenceSteps: number): void {
    const c = this.config;
    this.ts = spacedTimesteps(c.timestepSpacing, numInferenceSteps, c.numTrainTimesteps, c.stepsOffset, true);
    this.n = numInferenceSteps;
  }

  /** DDIM needs no input scaling; returns the sample itself. */
  scaleModelInput(sample: Tensor, _timestep?: number, _stepIndex?: number): Tensor {
    return sample;
  }

  /** DDIM scales no input: always 1. */
  inputDivisor(_stepIndex: number): number {
    return 1;
  }

  private alphaAt(t: number): number {
    if (!Number.isInteger(t) || t >= this.alphasCumprod.length) throw new RangeError(`DDIM: timestep ${t} outside [0, ${this.alphasCumprod.length})`);
    return t >= 0 ? this.alphasCumprod[t]! : this.finalAlphaCumprod;
  }

  /** The timestep DDIM steps to from `timestep` (diffusers: t − T/n, negative after the last step). */
  prevTimestep(timestep: number): number {
    if (this.n === 0) throw new Error('DDIM: call setTimesteps before step');
    return timestep - Math.floor(this.config.numTrainTimesteps / this.n);
  }

  /** σ_t² of DDIM (eq. 16 without η): (1−ᾱ_prev)/(1−ᾱ_t) · (1 − ᾱ_t/ᾱ_prev). */
  variance(timestep: number, prevTimestep: number): number {
    const a = this.alphaAt(timestep);
    const ap = this.alphaAt(prevTimestep);
    return f(f(f(1 - ap) / f(1 - a)) * f(1 - f(a / ap)));
  }

  step(modelOutput: Tensor, timestep: number, sample: Tensor, options: StepOptions = {}): StepResult {
    sameSize('DDIM step', modelOutput, sample);
    const eta = options.eta ?? 0;
    const prevT = this.prevTimestep(timestep);
    const a = this.alphaAt(timestep);
    const ap = this.alphaAt(prevT);
    const b = f(1 - a);
    const sa = sqrtF(a);
    const sb = sqrtF(b);
    const c = this.config;
    const mo = modelOutput.data;
    const x = sample.data;
    const n = x.length;
    const x0 = new Float32Array(n);
    const eps = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      if (c.predictionType === 'epsilon') {
        x0[i] = f(f(x[i]! - f(sb * mo[i]!)) / sa);
        eps[i] = mo[i]!;
      } else if (c.predictionType === 'sample') {
        x0[i] = mo[i]!;
        eps[i] = f(f(x[i]! - f(sa * mo[i]!)) / sb);
      } else {
        x0[i] = f(f(sa * x[i]!) - f(sb * mo[i]!));
        eps[i] = f(f(sa * mo[i]!) + f(sb * x[i]!));
      }
    }
    if (c.clipSample) {
      const r = f(c.clipSampleRange);
      for (let i = 0; i < n; i++) x0[i] = Math.min(Math.max(x0[i]!, -r), r);
    }
    const std = f(f(eta) * sqrtF(this.variance(timestep, prevT)));
    if (options.useClippedModelOutput) {
      for (let i = 0; i < n; i++) eps[i] = f(f(x[i]! - f(sa * x0[i]!)) / sb);
    }
    const dirCoef = sqrtF(f(f(1 - ap) - f(std * std)));
    const sap = sqrtF(ap);
    const prev = new Float32Array(n);
    for (let i = 0; i < n; i++) prev[i] = f(f(sap * x0[i]!) + f(dirCoef * eps[i]!));
    if (eta > 0) {
      const vn = options.varianceNoise;
      if (!vn) throw new RangeError('DDIM step: eta > 0 needs varianceNoise');
      sameSize('DDIM step varianceNoise', vn, sample);
      for (let i = 0; i < n; i++) prev[i] = f(prev[i]! + f(std * vn.data[i]!));
    }
    return { prevSample: tensor(sample.shape, prev), predOriginalSample: tensor(sample.shape, x0) };
  }

  /** Forward diffusion q(x_t | x_0): √ᾱ_t·x0 + √(1−ᾱ_t)·ε. */
  addNoise(original: Tensor, noise: Tensor, timestep: number): Tensor {
    sameSize('DDIM addNoise', original, noise);
    const a = this.alphaAt(timestep);
    const sa = sqrtF(a);
    const sb = sqrtF(f(1 - a));
    const out = new Float32Array(original.data.length);
    for (let i = 0; i < out.length; i++) out[i] = f(f(sa * original.data[i]!) + f(sb * noise.data[i]!));
    return tensor(original.shape, out);
  }
}
