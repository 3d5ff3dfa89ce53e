/**
 * UniPC (Zhao et al. 2023, "UniPC: A Unified Predictor-Corrector Framework", Algorithms 1–2, B(h) = bh1 or
 * bh2), data prediction, order 1 or 2: a port of diffusers v0.27.2
 * schedulers/scheduling_unipc_multistep.py. Each step i ≥ 1 first corrects the incoming sample with UniC
 * (using the previous step's sample and order and the new x0), then predicts with UniP. The returned
 * sample is the uncorrected predictor output, as in diffusers. Float32 scalar arithmetic in torch's order.
 * In 0.27.2 the final σ is σ(0) (the last Karras σ repeated with Karras sigmas), never 0.
 */
import { tensor, type Tensor } from '../tensor/tensor.js';
import { resolveUniPCConfig, type UniPCConfig } from './multistep-config.js';
import { alphaSigmaLambda, multistepSchedule } from './multistep-schedule.js';
import { MultistepSolver } from './multistep-solver.js';
import type { SchedulerConfig } from './schedule.js';
import type { Scheduler, StepOptions, StepResult } from './scheduler.js';

const f = Math.fround;

/** Solves the 2×2 system [[1, 1], [rk, 1]]·ρ = b in float32 by LU with partial pivoting (torch.linalg.solve). */
function solve2(rk: number, b1: number, b2: number): [number, number] {
  // rows (a1, a2 | b)
  let p: [number, number, number] = [1, 1, b1];
  let q: [number, number, number] = [rk, 1, b2];
  if (Math.abs(rk) > 1) [p, q] = [q, p];
  const l = f(q[0] * f(1 / p[0]));
  const u22 = f(q[1] - f(l * p[1]));
  const y2 = f(q[2] - f(l * p[2]));
  const x2 = f(y2 / u22);
  const x1 = f(f(p[2] - f(p[1] * x2)) / p[0]);
  return [x1, x2];
}

export class UniPCMultistepScheduler extends MultistepSolver<UniPCConfig> implements Scheduler {
  readonly kind = 'unipc' as const;
  /** The sample the last predictor started from (corrected), and that step's order. */
  private lastSample: Float32Array | undefined;
  private lastOrder = 0;

  constructor(config: SchedulerConfig = {}) {
    super(resolveUniPCConfig(config), 'UniPCMultistepScheduler', 'UniPC');
  }

  setTimesteps(numInferenceSteps: number): void {
    const c = this.config;
    this.useSchedule(multistepSchedule({
      numTrainTimesteps: c.numTrainTimesteps, timestepSpacing: c.timestepSpacing, stepsOffset: c.stepsOffset,
      useKarrasSigmas: c.useKarrasSigmas, lastTimestep: c.numTrainTimesteps, finalSigma: 'repeat',
    }, this.alphasCumprod, numInferenceSteps));
    this.lastSample = undefined;
  }

  /**
   * The predictor order of step i after `taken` earlier steps of this run: min(solver_order, steps left with
   * lower_order_final, taken + 1) (diffusers' `this_order` capped by `lower_order_nums + 1`); `taken` defaults
   * to i, a run that started at step 0 (an img2img run starts later).
   */
  orderAt(i: number, taken = i): number {
    const c = this.config;
    const cap = c.lowerOrderFinal ? Math.min(c.solverOrder, this.ts.length - i) : c.solverOrder;
    return Math.min(cap, Math.min(taken, c.solverOrder) + 1);
  }

  /** Whether step i starts with the UniC corrector. */
  correctsAt(i: number): boolean {
    return i > 0 && !this.config.disableCorrector.includes(i - 1);
  }

  /** h, α_t·h·φ1 = α_t·expm1(−h), σ_t/σ_s0, α_t·B(h) and the b vector of the step from index s to index t. */
  private coefficients(s: number, t: number, order: number) {
    const a = alphaSigmaLambda(this.sig[t]!);
    const b = alphaSigmaLambda(this.sig[s]!);
    const h = f(a.lambda - b.lambda);
    const hh = f(-h);
    const hPhi1 = f(Math.expm1(hh));
    const bh = this.config.solverType === 'bh1' ? hh : hPhi1;
    const bs: number[] = [];
    let hPhiK = f(f(hPhi1 / hh) - 1);
    let factorial = 1;
    for (let k = 1; k <= order; k++) {
      bs.push(f(f(hPhiK * factorial) / bh));
      factorial *= k + 1;
      hPhiK = f(f(hPhiK / hh) - f(1 / factorial));
    }
    return { h, ratio: f(a.sigmaT / b.sigmaT), cM0: f(a.alpha * hPhi1), cB: f(a.alpha * bh), bs, lambdaS0: b.lambda };
  }

  step(modelOutput: Tensor, timestep: number, sample: Tensor, options: StepOptions = {}): StepResult {
    const i = this.stepIndexOf(modelOutput, timestep, sample, options);
    const earlier = this.history.begin(i);
    const x0 = this.dataPrediction(modelOutput, sample.data, i);
    let x = sample.data;
    if (i > 0 && this.correctsAt(i) && this.lastSample) x = this.correct(i, x, x0, earlier);
    const order = this.orderAt(i, earlier.length);
    this.history.end(i, x0);
    this.lastSample = x;
    this.lastOrder = order;
    const c = this.coefficients(i, i + 1, order);
    const out = new Float32Array(x.length);
    for (let k = 0; k < out.length; k++) out[k] = f(f(c.ratio * x[k]!) - f(c.cM0 * x0[k]!));
    if (order === 2) {
      // rhos_p = [0.5]; D1 = (m1 − m0)/r1 with r1 = (λ_{i−1} − λ_i)/h
      const m1 = earlier[0]!;
      const rk = f(f(alphaSigmaLambda(this.sig[i - 1]!).lambda - c.lambdaS0) / c.h);
      for (let k = 0; k < out.length; k++) {
        const d1 = f(f(m1[k]! - x0[k]!) / rk);
        out[k] = f(out[k]! - f(c.cB * f(0.5 * d1)));
      }
    }
    return { prevSample: tensor(sample.shape, out), predOriginalSample: tensor(sample.shape, x0) };
  }

  /** UniC-p at step i with p = the previous step's order: the corrected version of `x` (the predictor's output). */
  private correct(i: number, x: Float32Array, x0: Float32Array, earlier: readonly Float32Array[]): Float32Array {
    const order = this.lastOrder;
    const c = this.coefficients(i - 1, i, order);
    const m0 = earlier[0]!;
    const last = this.lastSample!;
    let rhos: number[];
    let d1: Float32Array | undefined;
    if (order === 1) rhos = [f(0.5)];
    else {
      const m1 = earlier[1]!;
      const rk = f(f(alphaSigmaLambda(this.sig[i - 2]!).lambda - c.lambdaS0) / c.h);
      rhos = solve2(rk, c.bs[0]!, c.bs[1]!);
      d1 = new Float32Array(x.length);
      for (let k = 0; k < d1.length; k++) d1[k] = f(f(m1[k]! - m0[k]!) / rk);
    }
    const rLast = rhos[rhos.length - 1]!;
    const out = new Float32Array(x.length);
    for (let k = 0; k < out.length; k++) {
      const base = f(f(c.ratio * last[k]!) - f(c.cM0 * m0[k]!));
      const corr = d1 ? f(rhos[0]! * d1[k]!) : 0;
      const d1t = f(x0[k]! - m0[k]!);
      out[k] = f(base - f(c.cB * f(corr + f(rLast * d1t))));
    }
    return out;
  }
}
