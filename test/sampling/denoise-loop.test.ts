/**
 * The one denoising loop (src/sampling/denoise-loop.ts): it equals stepping the scheduler by hand, steps from
 * the latents a predictor hands back (the skip residual's way), reports each step once in order, stops before
 * a step when aborted and names the step whose latents went non-finite.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AbortedError, NumericsError } from '../../src/errors.js';
import { denoise, type NoisePredictor } from '../../src/sampling/denoise-loop.js';
import { createScheduler, parseSchedulerConfig } from '../../src/schedulers/index.js';
import type { Scheduler } from '../../src/schedulers/scheduler.js';
import { tensor, type Tensor } from '../../src/tensor/tensor.js';
import type { ProgressEvent } from '../../src/events.js';

function scheduler(name: 'ddim' | 'euler' | 'dpmpp-2m'): Scheduler {
  const s = createScheduler(parseSchedulerConfig({ _class_name: 'DDIMScheduler', beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012, num_train_timesteps: 1000 }, 'x.json'), name);
  s.setTimesteps(6);
  return s;
}

const start = (): Tensor => tensor([1, 2, 3, 3], Float32Array.from({ length: 18 }, (_, k) => Math.sin(k + 1)));
/** A deterministic stand-in for a UNet: depends on the latents, the step and the timestep. */
const noiseOf = (x: Tensor, i: number, t: number): Tensor => tensor(x.shape, Float32Array.from(x.data, (v, k) => 0.5 * v + 0.01 * Math.cos(k + i) + t / 5000));

for (const name of ['ddim', 'euler', 'dpmpp-2m'] as const) {
  test(`denoise with ${name}: bit-identical to stepping the scheduler by hand`, async () => {
    const a = scheduler(name);
    const got = await denoise(a, start(), async (x, i, t) => ({ noise: noiseOf(x, i, t) }), { stage: 1 });
    const b = scheduler(name);
    let x = start();
    b.timesteps.forEach((t, i) => {
      x = b.step(noiseOf(x, i, t), t, x, { stepIndex: i }).prevSample;
    });
    assert.deepEqual(Array.from(got.data), Array.from(x.data));
  });
}

test('a predictor\'s sample is what the step starts from (skip residual), and hooks see every step in order', async () => {
  const events: ProgressEvent[] = [];
  const seen: number[] = [];
  const shifted: NoisePredictor = async (x, i, t) => ({ noise: noiseOf(x, i, t), sample: tensor(x.shape, Float32Array.from(x.data, (v) => v + 1)) });
  const got = await denoise(scheduler('ddim'), start(), shifted, { stage: 3, onProgress: (e) => events.push(e), onStepLatents: (i) => seen.push(i) });
  const s = scheduler('ddim');
  let x = start();
  s.timesteps.forEach((t, i) => {
    const moved = tensor(x.shape, Float32Array.from(x.data, (v) => v + 1));
    x = s.step(noiseOf(x, i, t), t, moved, { stepIndex: i }).prevSample;
  });
  assert.deepEqual(Array.from(got.data), Array.from(x.data));
  assert.deepEqual(seen, [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(events, [1, 2, 3, 4, 5, 6].map((step) => ({ type: 'step', stage: 3, step, steps: 6 })));
});

test('abort stops before the next step; non-finite latents name the step', async () => {
  const controller = new AbortController();
  let calls = 0;
  const predict: NoisePredictor = async (x, i, t) => {
    calls++;
    if (i === 1) controller.abort();
    return { noise: noiseOf(x, i, t) };
  };
  await assert.rejects(denoise(scheduler('ddim'), start(), predict, { stage: 2, signal: controller.signal }), (e) => e instanceof AbortedError && e.message === 'stopped at stage 2, step 3');
  assert.equal(calls, 2);
  const nan: NoisePredictor = async (x, i, t) => ({ noise: i === 2 ? tensor(x.shape, new Float32Array(x.data.length).fill(Number.NaN)) : noiseOf(x, i, t) });
  await assert.rejects(denoise(scheduler('ddim'), start(), nan, { stage: 1 }), (e) => e instanceof NumericsError && e.message === 'stage 1, step 3: the latents contain NaN (numerical overflow)');
});
