/**
 * Ancestral Euler sampler (k-diffusion's sample_euler_ancestral; A1111's "Euler a"), a port of diffusers
 * v0.27.2 schedulers/scheduling_euler_ancestral_discrete.py. Timesteps, σ, init_noise_sigma, input
 * scaling and add_noise are EulerDiscreteScheduler's (linear interpolation, no Karras sigmas); the step
 * goes to σ_down deterministically and adds σ_up·noise, with the noise drawn at every step (also the last,
 * where σ_up = 0) from the pipeline's generator, as diffusers' `randn_tensor(shape, generator)` does.
 */
import { tensor, type Tensor } from '../tensor/tensor.js';
import type { RandomSource } from '../tensor/random.js';
import { EulerDiscreteScheduler } from './euler-discrete.js';
import type { SchedulerConfig } from './schedule.js';
import { sameSize, type Scheduler, type SchedulerExtras, type StepOptions, type StepResult } from './scheduler.js';

const f = Math.fround;

export class EulerAncestralDiscreteScheduler implements Scheduler {
  readonly kind = 'euler-a' as const;
  /** The shared Euler schedule (EulerAncestralDiscreteScheduler knows no interpolation_type or Karras keys). */
  readonly schedule: EulerDiscreteScheduler;
  private readonly generator: RandomSource | undefined;

  constructor(config: SchedulerConfig = {}, extras: SchedulerExtras = {}) {
    const { interpolationType: _i, useKarrasSigmas: _k, timestepType: _t, ...known } = config;
    this.schedule = new EulerDiscreteScheduler(known);
    this.generator = extras.generator;
  }

  get alphasCumprod(): Float32Array {
    return this.schedule.alphasCumprod;
  }

  get timesteps(): readonly number[] {
    return this.schedule.timesteps;
  }

  /** σ per step plus the final 0. */
  get sigmas(): Float32Array {
    return this.schedule.sigmas;
  }

  get numInferenceSteps(): number {
    return this.schedule.numInferenceSteps;
  }

  get initNoiseSigma(): number {
    return this.schedule.initNoiseSigma;
  }

  setTimesteps(numInferenceSteps: number): void {
    this.schedule.setTimesteps(numInferenceSteps);
  }

  scaleModelInput(sample: Tensor, timestep: number, stepIndex?: number): Tensor {
    return this.schedule.scaleModelInput(sample, timestep, stepIndex);
  }

  inputDivisor(stepIndex: number): number {
    return this.schedule.inputDivisor(stepIndex);
  }

  /** σ_up and σ_down of the step from σ_from to σ_to (float32, as diffusers). */
  static ancestralSigmas(sigmaFrom: number, sigmaTo: number): { up: number; down: number } {
    const to2 = f(sigmaTo * sigmaTo);
    const from2 = f(sigmaFrom * sigmaFrom);
    const up = f(Math.sqrt(f(f(to2 * f(from2 - to2)) / from2)));
    const down = f(Math.sqrt(f(to2 - f(up * up))));
    return { up, down };
  }

  /**
   * One ancestral step. The noise is `options.noise` when given, else one randn draw from the generator
   * passed at construction; throws RangeError when there is neither.
   */
  step(modelOutput: Tensor, timestep: number, sample: Tensor, options: StepOptions = {}): StepResult {
    sameSize('Euler a step', modelOutput, sample);
    const idx = options.stepIndex ?? this.schedule.indexForTimestep(timestep);
    if (!Number.isInteger(idx) || idx < 0 || idx >= this.timesteps.length) throw new RangeError(`EulerAncestralDiscreteScheduler: step index ${idx} outside [0, ${this.timesteps.length})`);
    const sigma = this.schedule.sigmaAt(idx);
    const { up, down } = EulerAncestralDiscreteScheduler.ancestralSigmas(sigma, this.schedule.sigmaAt(idx + 1));
    const n = sample.data.length;
    const x = sample.data;
    const mo = modelOutput.data;
    const x0 = new Float32Array(n);
    if (this.schedule.config.predictionType === 'epsilon') {
      for (let i = 0; i < n; i++) x0[i] = f(x[i]! - f(sigma * mo[i]!));
    } else {
      const s2p1 = f(f(sigma * sigma) + 1);
      const c1 = f(-sigma / f(Math.sqrt(s2p1)));
      for (let i = 0; i < n; i++) x0[i] = f(f(mo[i]! * c1) + f(x[i]! / s2p1));
    }
    let noise = options.noise;
    if (!noise) {
      if (!this.generator) throw new RangeError('Euler a step: no generator to draw the step noise from');
      noise = this.generator.randn(sample.shape);
    }
    sameSize('Euler a step noise', noise, sample);
    const dt = f(down - sigma);
    const prev = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const derivative = f(f(x[i]! - x0[i]!) / sigma);
      prev[i] = f(f(x[i]! + f(derivative * dt)) + f(noise.data[i]! * up));
    }
    return { prevSample: tensor(sample.shape, prev), predOriginalSample: tensor(sample.shape, x0) };
  }

  addNoise(original: Tensor, noise: Tensor, timestep: number): Tensor {
    return this.schedule.addNoise(original, noise, timestep);
  }
}
