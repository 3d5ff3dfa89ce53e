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
import { resolveDPMSolverConfig, type DPMSolverConfig } from './multistep-config.js';
import { alphaSigmaLambda, clippedLastTimestep, multistepSchedule } from './multistep-schedule.js';
import { MultistepSolver } from './multistep-solver.js';
import type { SchedulerConfig } from './schedule.js';
import type { Scheduler, StepOptions, StepResult } from './scheduler.js';

const f = Math.fround;

export class DPMSolverMultistepScheduler extends MultistepSolver<DPMSolverConfig> implements Scheduler {
  readonly kind = 'dpmsolver++' as const;

  constructor(config: SchedulerConfig = {}) {
    super(resolveDPMSolverConfig(config), 'DPMSolverMultistepScheduler', 'DPM-Solver++');
  }

  setTimesteps(numInferenceSteps: number): void {
    const c = this.config;
    this.useSchedule(multistepSchedule({
      numTrainTimesteps: c.numTrainTimesteps, timestepSpacing: c.timestepSpacing, stepsOffset: c.stepsOffset,
      useKarrasSigmas: c.useKarrasSigmas, lastTimestep: clippedLastTimestep(this.alphasCumprod, c.lambdaMinClipped),
      finalSigma: c.finalSigmasType,
    }, this.alphasCumprod, numInferenceSteps));
  }

  /** The order diffusers uses at step i (first order at step 0 and, per lower_order_final, at the last). */
  orderAt(i: number): number {
    const c = this.config;
    const n = this.ts.length;
    const lowerOrderFinal = i === n - 1 && (c.eulerAtFinal || (c.lowerOrderFinal && n < 15) || c.finalSigmasType === 'zero');
    return c.solverOrder === 1 || i < 1 || lowerOrderFinal ? 1 : 2;
  }

  step(modelOutput: Tensor, timestep: number, sample: Tensor, options: StepOptions = {}): StepResult {
    const i = this.stepIndexOf(modelOutput, timestep, sample, options);
    const x0 = this.dataPrediction(modelOutput, sample.data, i);
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
}
