/** Algebraic properties of the DDIM and Euler steps that hold for any schedule. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { parseSchedulerConfig } from '../../src/schedulers/schedule.js';
import { DDIMScheduler } from '../../src/schedulers/ddim.js';
import { EulerDiscreteScheduler } from '../../src/schedulers/euler-discrete.js';
import { maxAbsDiff, tensor, type Tensor } from '../../src/tensor/tensor.js';
import { TorchGenerator } from '../../src/tensor/torch-generator.js';
import { oracleJson } from '../helpers/oracle.js';

const json = oracleJson('schedulers/schedulers');
const shape = [1, 4, 8, 8];
const g = new TorchGenerator(1234);
const x0 = g.randn(shape);
const noise = g.randn(shape);
const e1 = g.randn(shape);
const e2 = g.randn(shape);
const comb = (a: number, u: Tensor, b: number, v: Tensor) => tensor(u.shape, u.data.map((x, i) => a * x + b * v.data[i]!));

test('v_prediction: the true v gives back x0 (DDIM and Euler)', () => {
  const d = new DDIMScheduler(parseSchedulerConfig({ ...json.ddim.config, prediction_type: 'v_prediction' }, 'x'));
  d.setTimesteps(50);
  for (const t of [d.timesteps[0]!, d.timesteps[25]!, d.timesteps[49]!]) {
    const a = d.alphasCumprod[t]!;
    const xt = d.addNoise(x0, noise, t);
    const v = comb(Math.sqrt(a), noise, -Math.sqrt(1 - a), x0); // v = √ᾱ ε − √(1−ᾱ) x0
    const r = d.step(v, t, xt);
    assert.ok(maxAbsDiff(r.predOriginalSample, x0) < 1e-5, `DDIM t=${t}`);
  }
  const e = new EulerDiscreteScheduler(parseSchedulerConfig({ ...json.euler.config, prediction_type: 'v_prediction' }, 'x'));
  e.setTimesteps(50);
  for (const i of [0, 25, 49]) {
    const t = e.timesteps[i]!;
    const s = e.sigmaAt(i);
    // Euler works on x = x0 + σε; the model sees x/√(σ²+1) = √ᾱ(x0 + σε) with √ᾱ = 1/√(σ²+1).
    const xt = e.addNoise(x0, noise, t);
    const sa = 1 / Math.sqrt(s * s + 1);
    const v = comb(sa, noise, -sa * s, x0);
    assert.ok(maxAbsDiff(e.step(v, t, xt).predOriginalSample, x0) < 1e-5 * Math.max(1, s), `Euler step ${i}`);
  }
});

test('epsilon: the true noise gives back x0 and DDIM lands on the noised x0 of the next timestep', () => {
  const d = new DDIMScheduler(parseSchedulerConfig(json.ddim.config, 'x'));
  d.setTimesteps(50);
  const t = d.timesteps[10]!;
  const r = d.step(noise, t, d.addNoise(x0, noise, t));
  assert.ok(maxAbsDiff(r.predOriginalSample, x0) < 1e-5);
  assert.ok(maxAbsDiff(r.prevSample, d.addNoise(x0, noise, d.prevTimestep(t))) < 1e-5);
});

test('the step is linear in the model output (DDIM eta 0, Euler)', () => {
  const a = 0.3;
  const d = new DDIMScheduler(parseSchedulerConfig(json.ddim.config, 'x'));
  const e = new EulerDiscreteScheduler(parseSchedulerConfig(json.euler.config, 'x'));
  d.setTimesteps(50);
  e.setTimesteps(50);
  const x = g.randn(shape);
  for (const s of [d, e]) {
    for (const i of [0, 20, 49]) {
      const t = s.timesteps[i]!;
      const mixed = s.step(comb(a, e1, 1 - a, e2), t, x).prevSample;
      const sep = comb(a, s.step(e1, t, x).prevSample, 1 - a, s.step(e2, t, x).prevSample);
      const scale = Math.max(1, ...Array.from(sep.data, Math.abs));
      assert.ok(maxAbsDiff(mixed, sep) < 1e-5 * scale, `${s.kind} step ${i}: ${maxAbsDiff(mixed, sep)}`);
    }
  }
});

test('Euler step and scaleModelInput are pure: the step index argument equals the timestep lookup, repeated calls agree', () => {
  const e = new EulerDiscreteScheduler(parseSchedulerConfig(json.euler.config, 'x'));
  e.setTimesteps(4);
  const x = g.randn(shape);
  const t = e.timesteps[2]!;
  const a = e.step(e1, t, x);
  const b = e.step(e1, t, x, { stepIndex: 2 });
  const c = e.step(e1, t, x);
  assert.equal(maxAbsDiff(a.prevSample, b.prevSample), 0);
  assert.equal(maxAbsDiff(a.prevSample, c.prevSample), 0);
  assert.equal(maxAbsDiff(e.scaleModelInput(x, t), e.scaleModelInput(x, t, 2)), 0);
  const s = e.sigmaAt(2);
  assert.ok(maxAbsDiff(e.scaleModelInput(x, t), x.data.map((v) => v / Math.sqrt(s * s + 1))) < 1e-6);
  assert.equal(e.sigmaAt(4), 0);
  assert.throws(() => e.step(e1, 123, x), /not in the schedule/);
  // Forward noising at step i is x0 + σ_i ε.
  assert.ok(maxAbsDiff(e.addNoise(x0, noise, t), comb(1, x0, s, noise)) < 1e-6);
});

test('clip_sample clamps the predicted x0', () => {
  const d = new DDIMScheduler(parseSchedulerConfig({ ...json.ddim.config, clip_sample: true, clip_sample_range: 0.5 }, 'x'));
  d.setTimesteps(10);
  const r = d.step(e1, d.timesteps[0]!, comb(3, x0, 0, x0));
  assert.ok(Math.max(...Array.from(r.predOriginalSample.data, Math.abs)) <= 0.5);
  assert.ok(r.predOriginalSample.data.some((v) => Math.abs(v) === 0.5));
});
