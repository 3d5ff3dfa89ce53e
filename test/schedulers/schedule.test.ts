/** Betas, ᾱ, timesteps and σ against diffusers v0.27.2 (oracle/schedulers) and the config parser. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ConfigError } from '../../src/errors.js';
import { parseSchedulerConfig, type SchedulerConfig } from '../../src/schedulers/schedule.js';
import { readSchedulerConfig } from '../../src/loading/component-folder.js';
import { createScheduler, DDIMScheduler, EulerDiscreteScheduler } from '../../src/schedulers/index.js';
import { maxAbsDiff } from '../../src/tensor/tensor.js';
import { oracleF32, oracleJson } from '../helpers/oracle.js';
import { tinySd, tinySdxl } from '../helpers/paths.js';

const json = oracleJson('schedulers/schedulers');
const ddimConfig = parseSchedulerConfig(json.ddim.config, 'schedulers.json#ddim');
const eulerConfig = parseSchedulerConfig(json.euler.config, 'schedulers.json#euler');

function withSpacing(c: SchedulerConfig, spacing: string): SchedulerConfig {
  return { ...c, timestepSpacing: spacing as SchedulerConfig['timestepSpacing'] };
}

test('alphas_cumprod equals diffusers bit for bit', () => {
  assert.equal(maxAbsDiff(new DDIMScheduler(ddimConfig).alphasCumprod, oracleF32('schedulers/schedulers', 'ddim.alphas_cumprod').data), 0);
  assert.equal(maxAbsDiff(new EulerDiscreteScheduler(eulerConfig).alphasCumprod, oracleF32('schedulers/schedulers', 'euler.alphas_cumprod').data), 0);
});

test('DDIM timesteps for every spacing and step count', () => {
  const keys = Object.keys(json.ddim.timesteps);
  assert.ok(keys.length >= 6);
  for (const key of keys) {
    const [spacing, n] = key.split('.') as [string, string];
    const s = new DDIMScheduler(withSpacing(ddimConfig, spacing));
    s.setTimesteps(Number(n));
    assert.deepEqual(s.timesteps, json.ddim.timesteps[key].timesteps, key);
    assert.equal(s.initNoiseSigma, 1);
  }
});

test('Euler timesteps, sigmas and init_noise_sigma for every spacing and step count', () => {
  const keys = Object.keys(json.euler.timesteps);
  assert.ok(keys.length >= 6);
  for (const key of keys) {
    const [spacing, n] = key.split('.') as [string, string];
    const want = json.euler.timesteps[key];
    const s = new EulerDiscreteScheduler(withSpacing(eulerConfig, spacing));
    s.setTimesteps(Number(n));
    assert.equal(s.timesteps.length, want.timesteps.length, key);
    assert.ok(maxAbsDiff(Float32Array.from(s.timesteps), Float32Array.from(want.timesteps)) <= 1e-5, `${key} timesteps`);
    assert.equal(s.sigmas.length, Number(n) + 1);
    assert.equal(s.sigmas[Number(n)], 0);
    assert.ok(maxAbsDiff(s.sigmas, Float32Array.from(want.sigmas)) <= 1e-5, `${key} sigmas ${maxAbsDiff(s.sigmas, Float32Array.from(want.sigmas))}`);
    assert.ok(Math.abs(s.initNoiseSigma - want.init_noise_sigma) <= 1e-5, `${key} init_noise_sigma ${s.initNoiseSigma}`);
    for (let i = 0; i < s.timesteps.length; i++) assert.equal(s.sigmaAt(i), s.sigmas[i]);
  }
});

test('model folders parse; Euler.from_config(ddim.config) gives the oracle pipeline schedule', () => {
  const sd = readSchedulerConfig(join(tinySd, 'scheduler', 'scheduler_config.json'));
  const sdxl = readSchedulerConfig(join(tinySdxl, 'scheduler', 'scheduler_config.json'));
  assert.ok(createScheduler(sd) instanceof DDIMScheduler);
  assert.ok(createScheduler(sdxl) instanceof EulerDiscreteScheduler);
  const e = createScheduler(sd, 'euler');
  assert.ok(e instanceof EulerDiscreteScheduler);
  e.setTimesteps(4);
  const run = oracleJson('tiny-sd/pipeline_euler');
  assert.deepEqual(e.timesteps, run.timesteps);
  assert.equal(e.initNoiseSigma, Math.fround(run.init_noise_sigma));
  const d = createScheduler(sd);
  d.setTimesteps(4);
  assert.deepEqual(d.timesteps, [751, 501, 251, 1]);
});

test('missing keys take the class defaults (DDIM leading, Euler linspace)', () => {
  const d = new DDIMScheduler(parseSchedulerConfig({}, 'x.json'));
  assert.equal(d.config.timestepSpacing, 'leading');
  assert.equal(d.config.clipSample, true);
  assert.equal(d.config.setAlphaToOne, true);
  const e = new EulerDiscreteScheduler(parseSchedulerConfig({ unknown_key: 3 }, 'x.json'));
  assert.equal(e.config.timestepSpacing, 'linspace');
  // diffusers test_steps_offset: steps_offset=1, 5 steps.
  const o = new DDIMScheduler(parseSchedulerConfig({ steps_offset: 1 }, 'x.json'));
  o.setTimesteps(5);
  assert.deepEqual(o.timesteps, [801, 601, 401, 201, 1]);
});

test('bad configs raise ConfigError naming file, field and value', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ beta_schedule: 'cosine' }, /cfg\.json: beta_schedule must be one of .*"cosine"/],
    [{ num_train_timesteps: 0 }, /cfg\.json: num_train_timesteps .* 0/],
    [{ num_train_timesteps: '1000' }, /num_train_timesteps .*"1000"/],
    [{ clip_sample: 'no' }, /clip_sample must be true or false, got "no"/],
    [{ timestep_spacing: 'even' }, /timestep_spacing .*"even"/],
    [{ prediction_type: 'x0' }, /prediction_type .*"x0"/],
    [{ beta_start: 0.02, beta_end: 0.01 }, /beta_end/],
  ];
  for (const [cfg, re] of cases) assert.throws(() => parseSchedulerConfig(cfg, 'cfg.json'), (e: unknown) => e instanceof ConfigError && re.test(e.message), JSON.stringify(cfg));
  assert.throws(() => parseSchedulerConfig([], 'cfg.json'), ConfigError);
  assert.throws(() => createScheduler(parseSchedulerConfig({ _class_name: 'PNDMScheduler' }, 'cfg.json')), /PNDMScheduler/);
  // Karras sigmas parse (DPM++ and UniPC use them) but EulerDiscrete refuses them when built.
  assert.throws(() => createScheduler(parseSchedulerConfig({ _class_name: 'EulerDiscreteScheduler', use_karras_sigmas: true }, 'cfg.json'), undefined, 'cfg.json'), (e: unknown) => e instanceof ConfigError && /cfg\.json: .*use_karras_sigmas/.test(e.message));
  assert.throws(() => readSchedulerConfig('/nonexistent/scheduler_config.json'), ConfigError);
});

test('options of the scheduler being replaced never block the replacement (issue 11.3)', () => {
  // refused by the class that would have to honour them, naming file and field
  const karras = parseSchedulerConfig({ _class_name: 'EulerDiscreteScheduler', use_karras_sigmas: true }, 'cfg.json');
  assert.throws(() => createScheduler(karras, undefined, 'cfg.json'), (e: unknown) => e instanceof ConfigError && /^cfg\.json: use_karras_sigmas is true/.test(e.message));
  const thr = parseSchedulerConfig({ _class_name: 'DDIMScheduler', thresholding: true }, 'cfg.json');
  assert.throws(() => createScheduler(thr, undefined, 'cfg.json'), (e: unknown) => e instanceof ConfigError && /^cfg\.json: thresholding is true/.test(e.message));
  // ignored by a class that has no such option, as diffusers' DDIMScheduler.from_config(euler.config) does:
  // the same timesteps and ᾱ as a config without the key
  const plain = createScheduler(parseSchedulerConfig({ _class_name: 'EulerDiscreteScheduler' }, 'cfg.json'), 'ddim');
  const ddim = createScheduler(karras, 'ddim');
  ddim.setTimesteps(10);
  plain.setTimesteps(10);
  assert.deepEqual(ddim.timesteps, plain.timesteps);
  assert.deepEqual(Array.from(ddim.alphasCumprod), Array.from(plain.alphasCumprod));
  const euler = createScheduler(thr, 'euler');
  euler.setTimesteps(10);
  assert.equal(euler.timesteps.length, 10);
});

test('squaredcos_cap_v2 and linear betas have the diffusers shape', () => {
  const lin = new DDIMScheduler(parseSchedulerConfig({ beta_schedule: 'linear', beta_start: 0.0001, beta_end: 0.02 }, 'x.json'));
  assert.equal(lin.betas[0], Math.fround(0.0001));
  assert.equal(lin.betas[999], Math.fround(0.02));
  const cos = new DDIMScheduler(parseSchedulerConfig({ beta_schedule: 'squaredcos_cap_v2' }, 'x.json'));
  const ab = (t: number) => Math.cos(((t + 0.008) / 1.008) * Math.PI / 2) ** 2;
  assert.ok(Math.abs(cos.betas[10]! - (1 - ab(11 / 1000) / ab(10 / 1000))) < 1e-7);
  assert.equal(cos.betas[999], Math.fround(0.999));
  // ᾱ_t of the cosine schedule is the alpha_bar ratio product, ≈ alpha_bar(t+1)/alpha_bar(0).
  assert.ok(Math.abs(cos.alphasCumprod[499]! - ab(0.5) / ab(0)) < 1e-5);
});
