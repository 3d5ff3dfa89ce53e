/**
 * Euler sampler of Karras et al. 2022 (Algorithm 2) on the discrete DDPM σ table, a port of diffusers
 * v0.27.2 schedulers/scheduling_euler_discrete.py (EulerDiscreteScheduler, no Karras sigmas). Unlike
 * diffusers, `step` and `scaleModelInput` keep no step counter: the step index is an argument or is
 * found from the timestep with diffusers' `index_for_timestep` rule.
 */
import { tensor, type Tensor } from '../tensor/tensor.js';
import {
  alphasCumprod, interpIndex, makeBetas, spacedTimesteps, trainSigmas,
  betaScheduleDefaults, type BetaScheduleConfig, type PredictionType, type SchedulerConfig, type TimestepSpacing,
} from './schedule.js';
import { sameSize, type Scheduler, type StepOptions, type StepResult } from './scheduler.js';

const f = Math.fround;

export interface EulerDiscreteConfig extends BetaScheduleConfig {
  readonly predictionType: PredictionType;
  readonly interpolationType: 'linear' | 'log_linear';
  readonly timestepSpacing: TimestepSpacing;
  readonly timestepType: 'discrete' | 'continuous';
  readonly stepsOffset: number;
  readonly rescaleBetasZeroSnr: boolean;
}

/** EulerDiscreteScheduler's constructor defaults for keys the config lacks. */
export function resolveEulerDiscreteConfig(c: SchedulerConfig = {}): EulerDiscreteConfig {
  return {
    ...betaScheduleDefaults(c),
    predictionType: c.predictionType ?? 'epsilon',
    interpolationType: c.interpolationType ?? 'linear',
    timestepSpacing: c.timestepSpacing ?? 'linspace',
    timestepType: c.timestepType ?? 'discrete',
    stepsOffset: c.stepsOffset ?? 0,
    rescaleBetasZeroSnr: c.rescaleBetasZeroSnr ?? false,
  };
}

export class EulerDiscreteScheduler implements Scheduler {
  readonly kind = 'euler' as const;
  readonly config: EulerDiscreteConfig;
  readonly betas: Float32Array;
  readonly alphasCumprod: Float32Array;
  private ts: number[];
  private sig: Float32Array;
  private n = 0;

  constructor(config: SchedulerConfig = {}) {
    this.config = resolveEulerDiscreteConfig(config);
    if (config.useKarrasSigmas) throw new RangeError('use_karras_sigmas is true: Karras sigmas are not supported by this EulerDiscreteScheduler (set it to false, or choose --scheduler ddim)');
    if (this.config.timestepType === 'continuous' && this.config.predictionType === 'v_prediction') {
      throw new RangeError('EulerDiscreteScheduler: continuous v-prediction timesteps are not supported');
    }
    if (config.useKarrasSigmas) {
      throw new RangeError('EulerDiscreteScheduler: use_karras_sigmas must be false (Karras sigmas are not supported with Euler; use dpmpp-2m-karras)');
    }
    if (this.config.predictionType === 'sample') {
      throw new RangeError('EulerDiscreteScheduler: prediction_type "sample" is not supported');
    }
    this.betas = makeBetas(this.config);
    const ac = alphasCumprod(this.betas);
    // Zero-SNR rescaling leaves ᾱ_T = 0 (σ = ∞); diffusers substitutes 2^-24.
    if (this.config.rescaleBetasZeroSnr) ac[ac.length - 1] = 2 ** -24;
    this.alphasCumprod = ac;
    // Before setTimesteps diffusers holds the full training table, descending, with a final 0.
    const train = trainSigmas(ac).reverse();
    this.sig = new Float32Array(train.length + 1);
    this.sig.set(train);
    this.ts = Array.from({ length: train.length }, (_, i) => train.length - 1 - i);
  }

  get timesteps(): readonly number[] {
    return this.ts;
  }

  /** σ for each timestep plus the final 0 (length timesteps.length + 1). */
  get sigmas(): Float32Array {
    return this.sig;
  }

  get numInferenceSteps(): number {
    return this.n;
  }

  /** σ_max² + 1 under "leading" spacing, σ_max for linspace/trailing (diffusers' rule), √ in float32. */
  get initNoiseSigma(): number {
    let m = 0;
    for (const s of this.sig) if (s > m) m = s;
    if (this.config.timestepSpacing === 'linspace' || this.config.timestepSpacing === 'trailing') return m;
    return f(Math.sqrt(f(f(m * m) + 1)));
  }

  setTimesteps(numInferenceSteps: number): void {
    const c = this.config;
    const ts = spacedTimesteps(c.timestepSpacing, numInferenceSteps, c.numTrainTimesteps, c.stepsOffset, false).map(f);
    const table = trainSigmas(this.alphasCumprod);
    let sig: number[];
    if (c.interpolationType === 'linear') sig = ts.map((t) => interpIndex(t, table));
    else {
      // torch.linspace(log σ_min, log σ_max, n + 1).exp()
      const lo = Math.log(table[table.length - 1]!);
      const hi = Math.log(table[0]!);
      sig = [];
      for (let i = 0; i <= numInferenceSteps; i++) sig.push(f(Math.exp(f(lo + (f(hi - lo) / numInferenceSteps) * i))));
    }
    this.ts = ts;
    this.sig = new Float32Array(ts.length + 1);
    for (let i = 0; i < ts.length; i++) this.sig[i] = sig[i]!;
    this.n = numInferenceSteps;
  }

  /** diffusers index_for_timestep: the first match, or the second when the timestep occurs twice. */
  indexForTimestep(timestep: number): number {
    const t = f(timestep);
    const hits: number[] = [];
    for (let i = 0; i < this.ts.length; i++) if (this.ts[i] === t) hits.push(i);
    if (hits.length === 0) throw new RangeError(`EulerDiscreteScheduler: timestep ${timestep} is not in the schedule`);
    return hits[hits.length > 1 ? 1 : 0]!;
  }

  /** σ at a step index (index timesteps.length gives the final 0). */
  sigmaAt(stepIndex: number): number {
    if (!Number.isInteger(stepIndex) || stepIndex < 0 || stepIndex >= this.sig.length) {
      throw new RangeError(`EulerDiscreteScheduler: step index ${stepIndex} outside [0, ${this.sig.length})`);
    }
    return this.sig[stepIndex]!;
  }

  private resolveIndex(timestep: number, stepIndex: number | undefined): number {
    if (stepIndex === undefined) return this.indexForTimestep(timestep);
    this.sigmaAt(stepIndex);
    if (stepIndex >= this.ts.length) throw new RangeError(`EulerDiscreteScheduler: step index ${stepIndex} is past the last step`);
    return stepIndex;
  }

  /** √(σ_k² + 1) in float32 (k = timesteps.length: σ = 0, so 1). */
  inputDivisor(stepIndex: number): number {
    const sigma = this.sigmaAt(stepIndex);
    return f(Math.sqrt(f(f(sigma * sigma) + 1)));
  }

  /** x / √(σ² + 1), the variance-preserving model input. */
  scaleModelInput(sample: Tensor, timestep: number, stepIndex?: number): Tensor {
    const sigma = this.sig[this.resolveIndex(timestep, stepIndex)]!;
    const d = f(Math.sqrt(f(f(sigma * sigma) + 1)));
    const out = new Float32Array(sample.data.length);
    for (let i = 0; i < out.length; i++) out[i] = f(sample.data[i]! / d);
    return tensor(sample.shape, out);
  }

  step(modelOutput: Tensor, timestep: number, sample: Tensor, options: StepOptions = {}): StepResult {
    sameSize('Euler step', modelOutput, sample);
    const idx = this.resolveIndex(timestep, options.stepIndex);
    const sigma = this.sig[idx]!;
    const sigmaNext = this.sig[idx + 1]!;
    const sChurn = options.sChurn ?? 0;
    const sTmin = options.sTmin ?? 0;
    const sTmax = options.sTmax ?? Infinity;
    const sNoise = options.sNoise ?? 1;
    const gamma = sTmin <= sigma && sigma <= sTmax ? Math.min(sChurn / (this.sig.length - 1), Math.SQRT2 - 1) : 0;
    const sigmaHat = f(sigma * f(gamma + 1));
    const n = sample.data.length;
    let x = sample.data;
    if (gamma > 0) {
      const noise = options.noise;
      if (!noise) throw new RangeError('Euler step: s_churn > 0 needs noise');
      sameSize('Euler step noise', noise, sample);
      const k = f(Math.sqrt(f(f(sigmaHat * sigmaHat) - f(sigma * sigma))));
      const churned = new Float32Array(n);
      for (let i = 0; i < n; i++) churned[i] = f(x[i]! + f(f(noise.data[i]! * f(sNoise)) * k));
      x = churned;
    }
    const mo = modelOutput.data;
    const x0 = new Float32Array(n);
    if (this.config.predictionType === 'epsilon') {
      for (let i = 0; i < n; i++) x0[i] = f(x[i]! - f(sigmaHat * mo[i]!));
    } else {
      const s2p1 = f(f(sigma * sigma) + 1);
      const c1 = f(-sigma / f(Math.sqrt(s2p1)));
      for (let i = 0; i < n; i++) x0[i] = f(f(mo[i]! * c1) + f(x[i]! / s2p1));
    }
    const dt = f(sigmaNext - sigmaHat);
    const prev = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const derivative = f(f(x[i]! - x0[i]!) / sigmaHat);
      prev[i] = f(x[i]! + f(derivative * dt));
    }
    return { prevSample: tensor(sample.shape, prev), predOriginalSample: tensor(sample.shape, x0) };
  }

  /** Forward noising x0 + σ_t·ε at the timestep's σ. */
  addNoise(original: Tensor, noise: Tensor, timestep: number): Tensor {
    return this.addNoiseAtIndex(original, noise, this.indexForTimestep(timestep));
  }

  /** Forward noising x0 + σ_i·ε at step index i. */
  addNoiseAtIndex(original: Tensor, noise: Tensor, stepIndex: number): Tensor {
    sameSize('Euler addNoise', original, noise);
    const sigma = this.sigmaAt(stepIndex);
    const out = new Float32Array(original.data.length);
    for (let i = 0; i < out.length; i++) out[i] = f(original.data[i]! + f(noise.data[i]! * sigma));
    return tensor(original.shape, out);
  }
}
