/**
 * DPM-Solver++ (Lu et al. 2022, "DPM-Solver++", Algorithm 2, multistep, data prediction) of order 1 or 2:
 * A1111's "DPM++ 2M", and "DPM++ 2M Karras" with Karras sigmas. A port of diffusers v0.27.2
 * schedulers/scheduling_dpmsolver_multistep.py (algorithm_type "dpmsolver++", solver_type midpoint or
 * heun). Scalars are float32 torch tensors in diffusers, so every operation rounds to float32 in the
 * same order. The history of data predictions lives here: step i must follow step i − 1; step 0 starts
 * afresh. With final_sigmas_type "zero" the last σ is 0, λ = +∞ and the last step returns x0 exactly
 * (IEEE infinities flow as in torch).
 */
import { tensor, type Tensor } from '../tensor/tensor.js';
import { configAlphasCumprod, resolveDPMSolverConfig, type DPMSolverConfig } from './multistep-config.js';
import { alphaSigmaLambda, clippedLastTimestep, multistepIndexForTimestep, multistepSchedule } from './multistep-schedule.js';
import type { SchedulerConfig } from './schedule.js';
import { sameSize, type Scheduler, type StepOptions, type StepResult } from './scheduler.js';
import { MultistepHistory } from './multistep-history.js';

const f = Math.fround;

export class DPMSolverMultistepScheduler implements Scheduler {
  readonly kind = 'dpmsolver++' as const;
  readonly config: DPMSolverConfig;
  readonly alphasCumprod: Float32Array;
  readonly initNoiseSigma = 1;
  private ts: number[] = [];
  private sig: Float32Array = new Float32Array(0);
  private readonly history = new MultistepHistory('DPMSolverMultistepScheduler');

  constructor(config: SchedulerConfig = {}) {
    this.config = resolveDPMSolverConfig(config);
    this.alphasCumprod = configAlphasCumprod(this.config);
  }

  get timesteps(): readonly number[] {
    return this.ts;
  }

  /** σ per step plus the final one (length timesteps.length + 1). */
  get sigmas(): Float32Array {
    return this.sig;
  }

  get numInferenceSteps(): number {
    return this.ts.length;
  }

  setTimesteps(numInferenceSteps: number): void {
    const c = this.config;
    const s = multistepSchedule({
      numTrainTimesteps: c.numTrainTimesteps, timestepSpacing: c.timestepSpacing, stepsOffset: c.stepsOffset,
      useKarrasSigmas: c.useKarrasSigmas, lastTimestep: clippedLastTimestep(this.alphasCumprod, c.lambdaMinClipped),
      finalSigma: c.finalSigmasType,
    }, this.alphasCumprod, numInferenceSteps);
    this.ts = s.timesteps;
    this.sig = s.sigmas;
    this.history.reset();
  }

  /** The identity: DPM-Solver takes the sample unscaled. */
  scaleModelInput(sample: Tensor, _timestep?: number, _stepIndex?: number): Tensor {
    return sample;
  }

  inputDivisor(_stepIndex: number): number {
    return 1;
  }

  /** The order diffusers uses at step i (first order at step 0 and, per lower_order_final, at the last). */
  orderAt(i: number): number {
    const c = this.config;
    const n = this.ts.length;
    const lowerOrderFinal = i === n - 1 && (c.eulerAtFinal || (c.lowerOrderFinal && n < 15) || c.finalSigmasType === 'zero');
    return c.solverOrder === 1 || i < 1 || lowerOrderFinal ? 1 : 2;
  }

  /** x0 from the model output at step i (diffusers convert_model_output, dpmsolver++). */
  private dataPrediction(modelOutput: Tensor, sample: Tensor, i: number): Float32Array {
    const { alpha, sigmaT } = alphaSigmaLambda(this.sig[i]!);
    const mo = modelOutput.data;
    const x = sample.data;
    const out = new Float32Array(x.length);
    const p = this.config.predictionType;
    for (let k = 0; k < out.length; k++) {
      if (p === 'epsilon') out[k] = f(f(x[k]! - f(sigmaT * mo[k]!)) / alpha);
      else if (p === 'v_prediction') out[k] = f(f(alpha * x[k]!) - f(sigmaT * mo[k]!));
      else out[k] = mo[k]!;
    }
    return out;
  }

  step(modelOutput: Tensor, timestep: number, sample: Tensor, options: StepOptions = {}): StepResult {
    sameSize('DPM-Solver++ step', modelOutput, sample);
    if (this.ts.length === 0) throw new Error('DPMSolverMultistepScheduler: call setTimesteps before step');
    const i = options.stepIndex ?? multistepIndexForTimestep(this.ts, timestep);
    if (!Number.isInteger(i) || i < 0 || i >= this.ts.length) throw new RangeError(`DPMSolverMultistepScheduler: step index ${i} outside [0, ${this.ts.length})`);
    const x0 = this.dataPrediction(modelOutput, sample, i);
    const prev = this.history.push(i, x0);
    const s0 = alphaSigmaLambda(this.sig[i]!);
    const t = alphaSigmaLambda(this.sig[i + 1]!);
    const h = f(t.lambda - s0.lambda);
    const ratio = f(t.sigmaT / s0.sigmaT);
    const expm = f(f(Math.exp(-h)) - 1);
    const cD0 = f(t.alpha * expm);
    const x = sample.data;
    const out = new Float32Array(x.length);
    if (this.orderAt(i) === 1 || !prev) {
      for (let k = 0; k < out.length; k++) out[k] = f(f(ratio * x[k]!) - f(cD0 * x0[k]!));
    } else {
      const s1 = alphaSigmaLambda(this.sig[i - 1]!);
      const r0 = f(f(s0.lambda - s1.lambda) / h);
      const inv = f(1 / r0);
      // midpoint: − ½·α_t(e^−h − 1)·D1; heun: + α_t((e^−h − 1)/h + 1)·D1
      const cD1 = this.config.solverType === 'midpoint' ? f(0.5 * cD0) : f(-f(t.alpha * f(f(expm / h) + 1)));
      for (let k = 0; k < out.length; k++) {
        const d1 = f(inv * f(x0[k]! - prev[k]!));
        out[k] = f(f(f(ratio * x[k]!) - f(cD0 * x0[k]!)) - f(cD1 * d1));
      }
    }
    return { prevSample: tensor(sample.shape, out), predOriginalSample: tensor(sample.shape, x0) };
  }

  /** diffusers add_noise: α_t·x0 + σ_t·ε at the timestep's σ (index looked up as in index_for_timestep). */
  addNoise(original: Tensor, noise: Tensor, timestep: number): Tensor {
    sameSize('DPM-Solver++ addNoise', original, noise);
    if (this.ts.length === 0) throw new Error('DPMSolverMultistepScheduler: call setTimesteps before addNoise');
    const { alpha, sigmaT } = alphaSigmaLambda(this.sig[multistepIndexForTimestep(this.ts, timestep)]!);
    const out = new Float32Array(original.data.length);
    for (let k = 0; k < out.length; k++) out[k] = f(f(alpha * original.data[k]!) + f(sigmaT * noise.data[k]!));
    return tensor(original.shape, out);
  }
}
