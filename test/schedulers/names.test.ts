/** Scheduler names and aliases (A1111, ComfyUI, InvokeAI, diffusers class names) and `--scheduler help`. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs } from '../../src/cli/args.js';
import { OptionsError } from '../../src/errors.js';
import { resolveOptions } from '../../src/options/index.js';
import { createScheduler, parseSchedulerConfig } from '../../src/schedulers/index.js';
import { findSchedulerName, parseSchedulerName, SCHEDULER_CHOICES, SCHEDULER_NAMES, schedulerHelp } from '../../src/schedulers/names.js';
import { DPMSolverMultistepScheduler } from '../../src/schedulers/dpm-solver-multistep.js';
import { UniPCMultistepScheduler } from '../../src/schedulers/unipc-multistep.js';

test('A1111, ComfyUI and diffusers names resolve to our schedulers', () => {
  const cases: Array<[string, string]> = [
    ['DDIM', 'ddim'], ['Euler', 'euler'], ['Euler a', 'euler-a'], ['euler_ancestral', 'euler-a'], ['k_euler_a', 'euler-a'],
    ['DPM++ 2M', 'dpmpp-2m'], ['dpmpp_2m', 'dpmpp-2m'], ['DPM++ 2M Karras', 'dpmpp-2m-karras'], ['dpmpp_2m_karras', 'dpmpp-2m-karras'],
    ['dpmpp_2m_k', 'dpmpp-2m-karras'], ['UniPC', 'unipc'], ['uni_pc', 'unipc'], ['uni_pc_bh2', 'unipc'],
    ['EulerDiscreteScheduler', 'euler'], ['EulerAncestralDiscreteScheduler', 'euler-a'], ['DPMSolverMultistepScheduler', 'dpmpp-2m'],
    ['UniPCMultistepScheduler', 'unipc'], ['DDIMScheduler', 'ddim'],
  ];
  for (const [typed, want] of cases) assert.equal(findSchedulerName(typed), want, typed);
  for (const n of SCHEDULER_NAMES) assert.equal(findSchedulerName(n), n);
  for (const bad of ['dpm', 'DPM++ 2M SDE', 'pndm', 'help', '']) assert.equal(findSchedulerName(bad), undefined, bad);
  assert.throws(() => parseSchedulerName('lms'), (e: unknown) => e instanceof OptionsError && /unknown scheduler "lms" \(choose ddim, euler, euler-a, dpmpp-2m, dpmpp-2m-karras, unipc/.test(e.message));
  // The library takes the aliases too and reports the canonical name.
  assert.equal(resolveOptions({ prompt: 'x', width: 64, height: 64, scheduler: 'DPM++ 2M Karras' }, 8).scheduler, 'dpmpp-2m-karras');
  assert.throws(() => resolveOptions({ prompt: 'x', width: 64, height: 64, scheduler: 'lms' }, 8), OptionsError);
});

test('each name builds its diffusers class from the model config with the from_config overrides', () => {
  // tiny-sd's DDIM config, as the oracle runs use it (leading spacing, steps_offset 1)
  const ddim = parseSchedulerConfig({ _class_name: 'DDIMScheduler', beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012, steps_offset: 1, timestep_spacing: 'leading', use_karras_sigmas: true }, 'x.json');
  const plain = createScheduler(ddim, 'dpmpp-2m');
  assert.ok(plain instanceof DPMSolverMultistepScheduler && !plain.config.useKarrasSigmas && plain.config.solverOrder === 2);
  plain.setTimesteps(10);
  assert.deepEqual(plain.timesteps, [901, 811, 721, 631, 541, 451, 361, 271, 181, 91]);
  const karras = createScheduler(ddim, 'dpmpp-2m-karras');
  assert.ok(karras instanceof DPMSolverMultistepScheduler && karras.config.useKarrasSigmas);
  karras.setTimesteps(10);
  assert.deepEqual(karras.timesteps, [999, 916, 815, 687, 523, 327, 146, 41, 7, 0]);
  const unipc = createScheduler(ddim, 'unipc');
  assert.ok(unipc instanceof UniPCMultistepScheduler && unipc.config.solverType === 'bh2');
  // The model's own class when no name is given, its config untouched (here Karras from the file).
  const own = createScheduler(parseSchedulerConfig({ _class_name: 'DPMSolverMultistepScheduler', use_karras_sigmas: true }, 'x.json'));
  assert.ok(own instanceof DPMSolverMultistepScheduler && own.config.useKarrasSigmas);
  // Unsupported variants are one ConfigError line naming the file.
  for (const [cfg, re] of [
    [{ _class_name: 'DPMSolverMultistepScheduler', algorithm_type: 'sde-dpmsolver++' }, /x\.json: .*algorithm_type "sde-dpmsolver\+\+"/],
    [{ _class_name: 'DPMSolverMultistepScheduler', solver_order: 3 }, /solver_order 3/],
    [{ _class_name: 'UniPCMultistepScheduler', predict_x0: false }, /predict_x0/],
  ] as const) assert.throws(() => createScheduler(parseSchedulerConfig(cfg, 'x.json'), undefined, 'x.json'), re);
});

test('--scheduler help lists every scheduler with its A1111 name, even without --prompt', () => {
  let out = '';
  const r = parseArgs(['generate', '--scheduler', 'help'], { writeOut: (s) => (out += s) });
  assert.equal(r.command, 'shown');
  assert.equal(out, schedulerHelp());
  for (const n of SCHEDULER_NAMES) {
    assert.match(out, new RegExp(`^  ${n} `, 'm'));
    assert.ok(out.includes(`A1111 "${SCHEDULER_CHOICES[n].a1111}"`));
  }
  const g = parseArgs(['generate', '--prompt', 'x', '--scheduler', 'DPM++ 2M Karras']);
  assert.equal(g.command === 'generate' && g.scheduler, 'dpmpp-2m-karras');
});
