/**
 * Resume with the stochastic Euler a (issue 12): its step noise comes from the run's generator, whose
 * position after each stage is checkpointed, so a resumed run ends bit-identical to an uninterrupted one
 * (without that, the resumed stage 2 would draw the generator's first numbers again).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AbortedError } from '../../src/errors.js';
import { loadPipeline } from '../../src/pipeline/pipeline.js';
import type { GenerateOptions } from '../../src/options/index.js';
import { tinySdxl } from '../helpers/paths.js';

test('Euler a: an interrupted AccDiffusion run resumes to the same latents', async () => {
  const pipe = await loadPipeline(tinySdxl, { threads: 1 });
  const stateDir = mkdtempSync(join(tmpdir(), 'acc-state-ea-'));
  try {
    const options: GenerateOptions = { prompt: 'a cute corgi on the lawn', width: 512, height: 512, steps: 3, seed: 11, scheduler: 'euler-a' };
    const full = await pipe.generate(options);
    const controller = new AbortController();
    await assert.rejects(pipe.generate(options, {
      stateDir, signal: controller.signal,
      onProgress: (e) => e.type === 'stage-end' && e.stage === 1 && controller.abort(),
    }), AbortedError);
    const resumed = await pipe.generate(options, { stateDir, resume: true });
    const a = resumed.stages[1]!.latents.data;
    const b = full.stages[1]!.latents.data;
    assert.ok(a.every((v, i) => v === b[i]), 'stage-2 latents bit-identical');
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
    await pipe.dispose();
  }
});
