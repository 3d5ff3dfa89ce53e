/**
 * Interrupt and resume through the real binary (issue 5): Ctrl-C (SIGINT) after a finished stage exits
 * 130 and writes no image; `--resume` with the same --state-dir runs only the remaining stages and
 * writes a PNG byte-identical to an uninterrupted run's.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeRun, runCli, tempDir } from './e2e-helpers.js';
import { tinySdxl } from '../helpers/paths.js';

test('SIGINT after stage 2, then --resume: same PNG as an uninterrupted run', async () => {
  const tmp = tempDir('acc-cli-resume-');
  try {
    const common = ['generate', '--model', tinySdxl, '--prompt', 'a cute corgi on the lawn', '--width', '768', '--height', '768', '--steps', '2', '--seed', '11'];
    const fullOut = join(tmp.dir, 'full.png');
    const full = await runCli([...common, '--out', fullOut, '--quiet']);
    assert.equal(full.code, 0, describeRun(common, full));

    const out = join(tmp.dir, 'resumed.png');
    const state = join(tmp.dir, 'state');
    let sent = false;
    const interrupted = await runCli([...common, '--out', out, '--state-dir', state, '--json'], {
      onStdoutLine: (line, child) => {
        const e = JSON.parse(line) as { type: string; stage?: number };
        if (!sent && e.type === 'stage-end' && e.stage === 2) {
          sent = true;
          child.kill('SIGINT');
        }
      },
    });
    assert.ok(sent, 'stage 2 finished');
    assert.equal(interrupted.code, 130, describeRun(common, interrupted));
    assert.equal(existsSync(out), false, 'no image after the interrupt');
    assert.match(interrupted.stderr, /^interrupted: no output file was written; finished stages are kept in .* \(continue with --resume\)$/m);
    assert.ok(existsSync(join(state, 'stage-2.safetensors')));

    const resumed = await runCli([...common, '--out', out, '--state-dir', state, '--resume', '--json']);
    assert.equal(resumed.code, 0, describeRun(common, resumed));
    const started = resumed.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; stage?: number }).filter((e) => e.type === 'stage-start').map((e) => e.stage);
    assert.deepEqual(started, [3], 'only stage 3 runs again');
    assert.ok(readFileSync(out).equals(readFileSync(fullOut)), 'PNG bytes identical to the uninterrupted run');
  } finally {
    tmp.remove();
  }
});
