/**
 * 50-step DDIM and Euler traces against diffusers v0.27.2 (oracle/schedulers/schedulers.safetensors,
 * ORACLE-README §4.7), the DDIM η step, and diffusers' own tests/schedulers dummy-model goldens.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { parseSchedulerConfig } from '../../src/schedulers/schedule.js';
import { DDIMScheduler } from '../../src/schedulers/ddim.js';
import { EulerDiscreteScheduler } from '../../src/schedulers/euler-discrete.js';
import type { Scheduler } from '../../src/schedulers/scheduler.js';
import { maxAbsDiff, tensor, type Tensor } from '../../src/tensor/tensor.js';
import { TorchGenerator } from '../../src/tensor/torch-generator.js';
import { oracle, oracleF32, oracleJson } from '../helpers/oracle.js';

const REL = 'schedulers/schedulers';
const json = oracleJson(REL);
const f = Math.fround;
const PER = 4 * 8 * 8;
// torch multiplies a float32 tensor by a Python scalar after casting the scalar to float32.
const C03 = f(0.3);
const C07 = f(0.7);

function slice(name: string, i: number): Tensor {
  return tensor([1, 4, 8, 8], oracleF32(REL, name).data.slice(i * PER, (i + 1) * PER));
}

function traceCheck(prefix: 'ddim' | 'euler', s: Scheduler): void {
  s.setTimesteps(50);
  const raw = oracle(REL).get(`${prefix}.trace.timesteps`)!.data;
  const stored = Array.from(raw as ArrayLike<number | bigint>, Number);
  assert.deepEqual(s.timesteps, stored);
  // M = randn(seed 52); the stored model_output follows 0.3·model_input + 0.7·M.
  const M = new TorchGenerator(52).randn([1, 4, 8, 8]).data;
  // sample_in[0] = randn(seed 51) · init_noise_sigma
  const x0 = new TorchGenerator(51).randn([1, 4, 8, 8]).data.map((v) => f(v * s.initNoiseSigma));
  assert.ok(maxAbsDiff(x0, slice(`${prefix}.trace.sample_in`, 0)) <= 1e-5);
  let worst = 0;
  let chained: Tensor = tensor([1, 4, 8, 8], x0);
  for (let i = 0; i < 50; i++) {
    const t = s.timesteps[i]!;
    const sampleIn = slice(`${prefix}.trace.sample_in`, i);
    const mi = s.scaleModelInput(sampleIn, t);
    assert.ok(maxAbsDiff(mi, slice(`${prefix}.trace.model_input`, i)) <= 1e-5, `${prefix} model_input ${i}`);
    const mo = tensor(mi.shape, mi.data.map((v, k) => f(f(C03 * v) + f(C07 * M[k]!))));
    assert.equal(maxAbsDiff(mo, slice(`${prefix}.trace.model_output`, i)), 0, `${prefix} model_output ${i}`);
    const r = s.step(mo, t, sampleIn);
    const dPrev = maxAbsDiff(r.prevSample, slice(`${prefix}.trace.prev_sample`, i));
    const dX0 = maxAbsDiff(r.predOriginalSample, slice(`${prefix}.trace.pred_original_sample`, i));
    assert.ok(dPrev <= 1e-5, `${prefix} prev_sample ${i}: ${dPrev}`);
    assert.ok(dX0 <= 1e-5, `${prefix} pred_original_sample ${i}: ${dX0}`);
    worst = Math.max(worst, dPrev, dX0);
    // The same loop run on our own outputs only, as a pipeline would.
    const cmi = s.scaleModelInput(chained, t, i);
    const cmo = tensor(cmi.shape, cmi.data.map((v, k) => f(f(C03 * v) + f(C07 * M[k]!))));
    chained = s.step(cmo, t, chained, { stepIndex: i }).prevSample;
  }
  const dChain = maxAbsDiff(chained, slice(`${prefix}.trace.prev_sample`, 49));
  assert.ok(dChain <= 1e-5, `${prefix} chained final ${dChain}`);
  console.log(`# ${prefix}: worst per-step diff ${worst}, chained 50-step diff ${dChain}`);
}

test('DDIM 50-step trace (eta 0, leading, set_alpha_to_one=false)', () => {
  traceCheck('ddim', new DDIMScheduler(parseSchedulerConfig(json.ddim.config, 'ddim')));
});

test('Euler 50-step trace (epsilon, leading, s_churn 0)', () => {
  traceCheck('euler', new EulerDiscreteScheduler(parseSchedulerConfig(json.euler.config, 'euler')));
});

test('DDIM eta=0.5 step with explicit variance noise', () => {
  const s = new DDIMScheduler(parseSchedulerConfig(json.ddim.config, 'ddim'));
  const e = json.ddim.eta_step;
  s.setTimesteps(e.num_inference_steps);
  assert.equal(s.timesteps[e.step_index], e.timestep);
  const g = (n: string) => oracleF32(REL, `ddim.eta.${n}`);
  const r = s.step(g('model_output'), e.timestep, g('sample'), { eta: e.eta, varianceNoise: g('variance_noise') });
  const d1 = maxAbsDiff(r.prevSample, g('prev_sample'));
  const d2 = maxAbsDiff(r.predOriginalSample, g('pred_original_sample'));
  assert.ok(d1 <= 1e-5 && d2 <= 1e-5, `${d1} ${d2}`);
  // The noise matters: without it (eta 0) the result differs.
  assert.ok(maxAbsDiff(s.step(g('model_output'), e.timestep, g('sample')).prevSample, g('prev_sample')) > 1e-3);
  assert.throws(() => s.step(g('model_output'), e.timestep, g('sample'), { eta: 0.5 }), /varianceNoise/);
});

/** diffusers tests/schedulers dummy_sample_deter: arange(4·3·8·8)/768 (sum |x| is layout-independent). */
function dummySample(): Tensor {
  const n = 4 * 3 * 8 * 8;
  return tensor([4, 3, 8, 8], Float32Array.from({ length: n }, (_, i) => f(i / n)));
}
/** diffusers dummy model: sample · t / (t + 1). */
function dummyModel(x: Tensor, t: number): Tensor {
  return tensor(x.shape, x.data.map((v) => f(f(v * t) / f(t + 1))));
}
function absSum(x: Tensor): number {
  let s = 0;
  for (const v of x.data) s += Math.abs(v);
  return s;
}

test('diffusers test_scheduler_ddim full loops (10 steps, dummy model)', () => {
  const base = { num_train_timesteps: 1000, beta_start: 0.0001, beta_end: 0.02, beta_schedule: 'linear', clip_sample: true };
  const cases: [Record<string, unknown>, number, number][] = [
    [{}, 172.0067, 0.223967],
    [{ prediction_type: 'v_prediction' }, 52.5302, 0.0684],
    [{ set_alpha_to_one: true, beta_start: 0.01 }, 149.8295, 0.1951],
    [{ set_alpha_to_one: false, beta_start: 0.01 }, 149.0784, 0.1941],
  ];
  for (const [extra, sum, mean] of cases) {
    const s = new DDIMScheduler(parseSchedulerConfig({ ...base, ...extra }, 'test'));
    s.setTimesteps(10);
    let x = dummySample();
    for (const t of s.timesteps) x = s.step(dummyModel(x, t), t, x, { eta: 0 }).prevSample;
    assert.ok(Math.abs(absSum(x) - sum) < 1e-2, `${JSON.stringify(extra)} sum ${absSum(x)}`);
    assert.ok(Math.abs(absSum(x) / x.data.length - mean) < 1e-3);
  }
  // test_variance
  const s = new DDIMScheduler(parseSchedulerConfig(base, 'test'));
  for (const [t, p, v] of [[0, 0, 0], [420, 400, 0.14771], [980, 960, 0.3246], [487, 486, 0.00979], [999, 998, 0.02]] as const) {
    assert.ok(Math.abs(s.variance(t, p) - v) < 1e-5, `variance(${t}, ${p})`);
  }
});

test('diffusers test_scheduler_euler full loops (10 steps, 1100 train steps, dummy model)', () => {
  const base = { num_train_timesteps: 1100, beta_start: 0.0001, beta_end: 0.02, beta_schedule: 'linear' };
  const cases: [Record<string, unknown>, number, number][] = [
    [{}, 10.0807, 0.0131],
    [{ prediction_type: 'v_prediction' }, 0.0002, 2.2676e-6],
  ];
  for (const [extra, sum, mean] of cases) {
    const s = new EulerDiscreteScheduler(parseSchedulerConfig({ ...base, ...extra }, 'test'));
    s.setTimesteps(10);
    let x = tensor([4, 3, 8, 8], dummySample().data.map((v) => f(v * s.initNoiseSigma)));
    for (const t of s.timesteps) {
      x = s.scaleModelInput(x, t); // the diffusers test feeds the scaled sample back in, so do we
      x = s.step(dummyModel(x, t), t, x).prevSample;
    }
    assert.ok(Math.abs(absSum(x) - sum) < 1e-2, `${JSON.stringify(extra)} sum ${absSum(x)}`);
    assert.ok(Math.abs(absSum(x) / x.data.length - mean) < 1e-3);
  }
});
