/**
 * What DPMSolverMultistepScheduler and UniPCMultistepScheduler share in diffusers v0.27.2: the schedule they
 * step through (timesteps and σ per step plus the final one), the data prediction x0 of `convert_model_output`,
 * the history of earlier data predictions, the step-index lookup, the unscaled model input and `add_noise`.
 * Each solver adds its own schedule parameters (setTimesteps), orders and update. Float32 arithmetic in torch's
 * order, as in each solver.
 */
import { tensor, type Tensor } from '../tensor/tensor.js';
import { configAlphasCumprod, type CommonMultistepConfig } from './multistep-config.js';
import { MultistepHistory } from './multistep-history.js';
import { alphaSigmaLambda, multistepIndexForTimestep } from './multistep-schedule.js';
import { sameSize, type StepOptions } from './scheduler.js';

const f = Math.fround;

export abstract class MultistepSolver<C extends CommonMultistepConfig> {
  readonly alphasCumprod: Float32Array;
  readonly initNoiseSigma = 1;
  protected ts: number[] = [];
  protected sig: Float32Array = new Float32Array(0);
  protected readonly history: MultistepHistory;

  /** `className`: diffusers' class name, for errors; `label`: the short name for size errors. */
  protected constructor(readonly config: C, private readonly className: string, private readonly label: string) {
    this.alphasCumprod = configAlphasCumprod(config);
    this.history = new MultistepHistory(className);
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

  /** Takes a new schedule (from setTimesteps) and forgets every earlier step. */
  protected useSchedule(s: { readonly timesteps: number[]; readonly sigmas: Float32Array }): void {
    this.ts = s.timesteps;
    this.sig = s.sigmas;
    this.history.reset();
  }

  /** The identity: multistep solvers take the sample unscaled. */
  scaleModelInput(sample: Tensor, _timestep?: number, _stepIndex?: number): Tensor {
    return sample;
  }

  inputDivisor(_stepIndex: number): number {
    return 1;
  }

  /**
   * The index of a step's timestep: options.stepIndex, else looked up as diffusers' index_for_timestep.
   * Throws unless setTimesteps ran, the sizes agree and the index is in range.
   */
  protected stepIndexOf(modelOutput: Tensor, timestep: number, sample: Tensor, options: StepOptions): number {
    sameSize(`${this.label} step`, modelOutput, sample);
    if (this.ts.length === 0) throw new Error(`${this.className}: call setTimesteps before step`);
    const i = options.stepIndex ?? multistepIndexForTimestep(this.ts, timestep);
    if (!Number.isInteger(i) || i < 0 || i >= this.ts.length) throw new RangeError(`${this.className}: step index ${i} outside [0, ${this.ts.length})`);
    return i;
  }

  /** x0 from the model output at step i (diffusers convert_model_output with data prediction). */
  protected dataPrediction(modelOutput: Tensor, sample: Float32Array, i: number): Float32Array {
    const { alpha, sigmaT } = alphaSigmaLambda(this.sig[i]!);
    const mo = modelOutput.data;
    const out = new Float32Array(sample.length);
    const p = this.config.predictionType;
    for (let k = 0; k < out.length; k++) {
      if (p === 'epsilon') out[k] = f(f(sample[k]! - f(sigmaT * mo[k]!)) / alpha);
      else if (p === 'v_prediction') out[k] = f(f(alpha * sample[k]!) - f(sigmaT * mo[k]!));
      else out[k] = mo[k]!;
    }
    return out;
  }

  /** diffusers add_noise: α_t·x0 + σ_t·ε at the timestep's σ (index looked up as in index_for_timestep). */
  addNoise(original: Tensor, noise: Tensor, timestep: number): Tensor {
    sameSize(`${this.label} addNoise`, original, noise);
    if (this.ts.length === 0) throw new Error(`${this.className}: call setTimesteps before addNoise`);
    const { alpha, sigmaT } = alphaSigmaLambda(this.sig[multistepIndexForTimestep(this.ts, timestep)]!);
    const out = new Float32Array(original.data.length);
    for (let k = 0; k < out.length; k++) out[k] = f(f(alpha * original.data[k]!) + f(sigmaT * noise.data[k]!));
    return tensor(original.shape, out);
  }
}
