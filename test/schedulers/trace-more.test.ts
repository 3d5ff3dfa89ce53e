/**
 * DPM++ 2M (Karras on/off, final σ zero / σ_min, v-prediction, lower_order_final), Euler a (with its
 * noise drawn from the torch generator) and UniPC (bh2) against diffusers v0.27.2 step by step
 * (oracle/schedulers-more, ORACLE-README §8.2–8.3), and their set_timesteps tables.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { createScheduler, parseSchedulerConfig, type Scheduler } from '../../src/schedulers/index.js';
import { DPMSolverMultistepScheduler } from '../../src/schedulers/dpm-solver-multistep.js';
import { UniPCMultistepScheduler } from '../../src/schedulers/unipc-multistep.js';
import { EulerAncestralDiscreteScheduler } from '../../src/schedulers/euler-ancestral.js';
import { maxAbsDiff, tensor, type Tensor } from '../../src/tensor/tensor.js';
import { TorchGenerator } from '../../src/tensor/torch-generator.js';
import { oracleF32, oracleJson } from '../helpers/oracle.js';

const REL = 'schedulers-more/schedulers_more';
const json = oracleJson(REL);
const f = Math.fround;
const PER = 4 * 8 * 8;
const C03 = f(0.3);
const C07 = f(0.7);
const TOL = 1e-5;

function slice(name: string, i: number): Tensor {
  return tensor([1, 4, 8, 8], oracleF32(REL, name).data.slice(i * PER, (i + 1) * PER));
}

function schedulerOf(config: Record<string, unknown>, generator?: TorchGenerator): Scheduler {
  return createScheduler(parseSchedulerConfig(config, 'trace.json'), undefined, 'trace.json', generator ? { generator } : {});
}

const fakeModel = (mi: Tensor, M: Float32Array): Tensor => tensor(mi.shape, mi.data.map((v, k) => f(f(C03 * v) + f(C07 * M[k]!))));

for (const [id, trace] of Object.entries<any>(json.traces)) {
  test(`${id}: every step within ${TOL} of diffusers, and the chained loop too`, () => {
    const n: number = trace.num_inference_steps;
    const s = schedulerOf(trace.config, id.startsWith('euler_a') ? new TorchGenerator(703) : undefined);
    s.setTimesteps(n);
    assert.deepEqual(s.timesteps, trace.timesteps.map(Number));
    const sig = (s as unknown as { sigmas: Float32Array }).sigmas;
    assert.deepEqual(Array.from(sig), trace.sigmas.map(f), 'sigmas bit for bit');
    assert.ok(Math.abs(s.initNoiseSigma - trace.init_noise_sigma) <= 1e-6);
    if (trace.solver_order_used_per_step) {
      assert.deepEqual(Array.from({ length: n }, (_, i) => (s as DPMSolverMultistepScheduler).orderAt(i)), trace.solver_order_used_per_step);
    }
    if (s instanceof UniPCMultistepScheduler) {
      assert.deepEqual(Array.from({ length: n }, (_, i) => s.orderAt(i)), trace['predictor_order_per_step (this_order)']);
    }
    const M = new TorchGenerator(702).randn([1, 4, 8, 8]).data;
    const start = new TorchGenerator(701).randn([1, 4, 8, 8]).data.map((v) => f(v * s.initNoiseSigma));
    assert.ok(maxAbsDiff(start, slice(`${id}.sample_in`, 0)) <= TOL);
    let worst = 0;
    for (let i = 0; i < n; i++) {
      const t = s.timesteps[i]!;
      const sampleIn = slice(`${id}.sample_in`, i);
      const mi = s.scaleModelInput(sampleIn, t, i);
      assert.ok(maxAbsDiff(mi, slice(`${id}.model_input`, i)) <= TOL, `${id} model_input ${i}`);
      const mo = fakeModel(mi, M);
      const r = s.step(mo, t, sampleIn, { stepIndex: i });
      const dPrev = maxAbsDiff(r.prevSample, slice(`${id}.prev_sample`, i));
      const dX0 = maxAbsDiff(r.predOriginalSample, slice(`${id}.x0_pred`, i));
      assert.ok(dPrev <= TOL, `${id} prev_sample ${i}: ${dPrev}`);
      assert.ok(dX0 <= TOL, `${id} x0_pred ${i}: ${dX0}`);
      worst = Math.max(worst, dPrev, dX0);
    }
    // The whole loop on our own outputs, as a pipeline runs it (a fresh generator for Euler a).
    const c = schedulerOf(trace.config, id.startsWith('euler_a') ? new TorchGenerator(703) : undefined);
    c.setTimesteps(n);
    let x: Tensor = tensor([1, 4, 8, 8], start);
    for (let i = 0; i < n; i++) x = c.step(fakeModel(c.scaleModelInput(x, c.timesteps[i]!, i), M), c.timesteps[i]!, x, { stepIndex: i }).prevSample;
    const dChain = maxAbsDiff(x, slice(`${id}.prev_sample`, n - 1));
    assert.ok(dChain <= TOL, `${id} chained ${dChain}`);
    console.log(`# ${id}: worst per-step ${worst.toExponential(2)}, chained ${dChain.toExponential(2)}`);
  });
}

test('Euler a draws noise.i at step i from the one generator, also at the last step (σ_up = 0)', () => {
  const trace = json.traces.euler_a_n10;
  const g = new TorchGenerator(703);
  for (let i = 0; i < 10; i++) assert.equal(maxAbsDiff(g.randn([1, 4, 8, 8]), slice('euler_a_n10.noise', i)), 0);
  const s = schedulerOf(trace.config) as EulerAncestralDiscreteScheduler;
  s.setTimesteps(10);
  for (let i = 0; i < 10; i++) {
    const { up, down } = EulerAncestralDiscreteScheduler.ancestralSigmas(s.sigmas[i]!, s.sigmas[i + 1]!);
    assert.ok(Math.abs(up - trace.sigma_up[i]) <= 1e-6 && Math.abs(down - trace.sigma_down[i]) <= 1e-6, `σ_up/σ_down ${i}`);
  }
  // Without a generator or explicit noise the step refuses instead of inventing noise.
  assert.throws(() => s.step(slice('euler_a_n10.model_output', 0), s.timesteps[0]!, slice('euler_a_n10.sample_in', 0), { stepIndex: 0 }), /generator/);
});

test('UniPC: the corrector runs at steps 1..n-1 and reproduces corrected_sample', () => {
  const trace = json.traces.unipc_n10;
  assert.deepEqual(trace.corrector_applied_per_step, Array.from({ length: 10 }, (_, i) => i > 0));
  const s = schedulerOf(trace.config) as UniPCMultistepScheduler;
  s.setTimesteps(10);
  const M = new TorchGenerator(702).randn([1, 4, 8, 8]).data;
  // The sample each predictor starts from (after UniC; sample_in itself at step 0).
  for (let i = 0; i < 10; i++) {
    const sampleIn = slice('unipc_n10.sample_in', i);
    s.step(fakeModel(sampleIn, M), s.timesteps[i]!, sampleIn, { stepIndex: i });
    const corrected = (s as unknown as { lastSample: Float32Array }).lastSample;
    const d = maxAbsDiff(corrected, slice('unipc_n10.corrected_sample', i));
    assert.ok(d <= TOL, `corrected_sample ${i}: ${d}`);
  }
});

test('multistep solvers refuse a skipped or repeated step and restart their history at step 0', () => {
  const s = schedulerOf(json.traces.dpmpp_2m_n10.config);
  s.setTimesteps(10);
  const x = slice('dpmpp_2m_n10.sample_in', 0);
  const m = slice('dpmpp_2m_n10.model_output', 0);
  const a = s.step(m, s.timesteps[0]!, x, { stepIndex: 0 }).prevSample;
  assert.throws(() => s.step(m, s.timesteps[2]!, x, { stepIndex: 2 }), /step 2 must follow step 1/);
  // step 0 again (a new stage) gives the same first-order result as before
  assert.equal(maxAbsDiff(s.step(m, s.timesteps[0]!, x, { stepIndex: 0 }).prevSample, a), 0);
});

test('a multistep run may start at a later step with an empty history (img2img, diffusers set_begin_index): first order, then second', () => {
  for (const id of ['dpmpp_2m_n10', 'unipc_n10'] as const) {
    const cfg = json.traces[id].config as Record<string, unknown>;
    const x = slice(`${id}.sample_in`, 4);
    const m = slice(`${id}.model_output`, 4);
    const second = schedulerOf(cfg);
    second.setTimesteps(10);
    const first = schedulerOf({ ...cfg, solver_order: 1 });
    first.setTimesteps(10);
    const late = second.step(m, second.timesteps[4]!, x, { stepIndex: 4 }).prevSample;
    assert.equal(maxAbsDiff(late, first.step(m, first.timesteps[4]!, x, { stepIndex: 4 }).prevSample), 0, `${id}: the first step is first order`);
    // the next step has one earlier output: second order now, so it differs from the order-1 solver's
    const x5 = slice(`${id}.sample_in`, 5);
    const m5 = slice(`${id}.model_output`, 5);
    const d = maxAbsDiff(second.step(m5, second.timesteps[5]!, x5, { stepIndex: 5 }).prevSample, first.step(m5, first.timesteps[5]!, x5, { stepIndex: 5 }).prevSample);
    assert.ok(d > 0, `${id}: step 5 uses the history`);
  }
});

const CLASSES = {
  DPMSolverMultistepScheduler: { generator: false },
  EulerAncestralDiscreteScheduler: { generator: true },
  UniPCMultistepScheduler: { generator: false },
} as const;

test('set_timesteps tables of every spacing, Karras and final-σ variant (timesteps exact, σ bit for bit)', () => {
  let checked = 0;
  for (const [cls, tables] of Object.entries<any>(json.schedules)) {
    for (const [key, want] of Object.entries<any>(tables)) {
      const parts = key.split('.');
      const n = Number(parts.pop());
      const cfg: Record<string, unknown> = { ...json.base_config, _class_name: cls };
      if (parts[0] === 'karras') cfg.use_karras_sigmas = true;
      else cfg.timestep_spacing = parts[0];
      if (parts[1] === 'sigma_min') cfg.final_sigmas_type = 'sigma_min';
      assert.ok(cls in CLASSES, cls);
      const s = schedulerOf(cfg, new TorchGenerator(0));
      s.setTimesteps(n);
      assert.deepEqual(s.timesteps, want.timesteps.map(Number), `${cls} ${key} timesteps`);
      const sig = (s as unknown as { sigmas: Float32Array }).sigmas;
      assert.deepEqual(Array.from(sig), want.sigmas.map(f), `${cls} ${key} sigmas`);
      assert.ok(Math.abs(s.initNoiseSigma - want.init_noise_sigma) <= 1e-6, `${cls} ${key} init_noise_sigma`);
      checked++;
    }
  }
  assert.ok(checked >= 60, `${checked} tables`);
});

test('add_noise of the new schedulers: α_t·x0 + σ_t·ε (DPM, UniPC) and x0 + σ·ε (Euler a), by timestep as diffusers looks it up', () => {
  const x = slice('dpmpp_2m_n10.sample_in', 0);
  const e = slice('dpmpp_2m_n10.model_output', 0);
  const karras = schedulerOf({ ...json.base_config, _class_name: 'DPMSolverMultistepScheduler', use_karras_sigmas: true }) as DPMSolverMultistepScheduler;
  karras.setTimesteps(50);
  // …, 2, 1, 1, 0: timestep 1 occurs at indices 47 and 48; diffusers takes the second
  assert.deepEqual(karras.timesteps.slice(46), [2, 1, 1, 0]);
  for (const s of [karras, schedulerOf({ ...json.base_config, _class_name: 'UniPCMultistepScheduler' })]) {
    if (s !== karras) s.setTimesteps(10);
    for (const [t, idx] of (s === karras ? [[999, 0], [1, 48], [0, 49]] : [[901, 0], [91, 9]]) as Array<[number, number]>) {
      const sigma = (s as unknown as { sigmas: Float32Array }).sigmas[idx]!;
      const alpha = 1 / Math.sqrt(sigma * sigma + 1);
      const got = s.addNoise(x, e, t);
      const want = x.data.map((v, k) => alpha * v + sigma * alpha * e.data[k]!);
      assert.ok(maxAbsDiff(got, want) <= 1e-5, `${s.kind} t=${t}`);
    }
  }
  const a = schedulerOf({ ...json.base_config, _class_name: 'EulerAncestralDiscreteScheduler' });
  a.setTimesteps(10);
  const sigma = (a as EulerAncestralDiscreteScheduler).sigmas[3]!;
  assert.ok(maxAbsDiff(a.addNoise(x, e, a.timesteps[3]!), x.data.map((v, k) => v + sigma * e.data[k]!)) <= 1e-5);
});
