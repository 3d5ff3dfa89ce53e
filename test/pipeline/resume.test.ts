/**
 * Interruption and resume (issue 5): an aborted run stops at the next step with AbortedError; with a
 * state folder, --resume continues from the last finished stage and ends bit-identical to an
 * uninterrupted run; a state folder from other options is refused.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPipeline } from '../../src/pipeline/pipeline.js';
import type { Pipeline } from '../../src/pipeline/pipeline-api.js';
import type { GenerateOptions } from '../../src/options/index.js';
import { AbortedError, OptionsError } from '../../src/errors.js';
import { tinySdxl } from '../helpers/paths.js';

let pipe: Pipeline;
test.before(async () => {
  pipe = await loadPipeline(tinySdxl, { threads: 1 });
});
test.after(async () => {
  await pipe.dispose();
});

const options: GenerateOptions = { prompt: 'a cute corgi on the lawn', width: 768, height: 768, steps: 2, seed: 7 };

test('an aborted run resumes from its last finished stage and gives the same image', async () => {
  const full = await pipe.generate(options);
  const stateDir = mkdtempSync(join(tmpdir(), 'acc-state-'));
  const controller = new AbortController();
  let stepsAfterAbort = 0;
  await assert.rejects(
    pipe.generate(options, {
      stateDir,
      signal: controller.signal,
      onProgress: (e) => {
        if (controller.signal.aborted && e.type === 'step') stepsAfterAbort++;
        if (e.type === 'stage-end' && e.stage === 2) controller.abort();
      },
    }),
    AbortedError,
  );
  assert.equal(stepsAfterAbort, 0, 'no step runs after the abort');
  assert.deepEqual(readdirSync(stateDir).sort(), ['stage-1.safetensors', 'stage-2.safetensors', 'state.json']);
  const stagesRun: number[] = [];
  const resumed = await pipe.generate(options, { stateDir, resume: true, onProgress: (e) => e.type === 'stage-start' && stagesRun.push(e.stage) });
  assert.deepEqual(stagesRun, [3], 'only the unfinished stage runs');
  assert.deepEqual(resumed.stages.map((s) => s.stage), [1, 2, 3]);
  assert.ok(Buffer.from(resumed.image.rgb).equals(Buffer.from(full.image.rgb)), 'final image identical');
  const last = resumed.stages[2]!.latents.data;
  assert.ok(Buffer.from(last.buffer, last.byteOffset, last.byteLength).equals(Buffer.from(full.stages[2]!.latents.data.buffer)), 'final latents bit-identical');
  assert.deepEqual(resumed.stages[2]!.windowPrompts, full.stages[2]!.windowPrompts);
  assert.equal(resumed.report.unetCalls, full.report.unetCalls);
  await assert.rejects(pipe.generate({ ...options, seed: 8 }, { stateDir, resume: true }), OptionsError);
});
