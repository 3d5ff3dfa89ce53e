// Progress rendering (src/cli/progress.ts) into string streams: JSON lines, quiet, and plain lines off a terminal.
import test from 'node:test';
import assert from 'node:assert/strict';
import { createProgressRenderer } from '../../src/cli/progress.js';
import type { ProgressEvent } from '../../src/events.js';
import { stringStream } from './string-stream.js';

const events: ProgressEvent[] = [
  { type: 'load', component: 'unet', done: false },
  { type: 'load', component: 'unet', done: true },
  { type: 'stage-start', stage: 1, stages: 2, width: 64, height: 48, steps: 2 },
  { type: 'step', stage: 1, step: 1, steps: 2 },
  { type: 'step', stage: 1, step: 2, steps: 2 },
  { type: 'decode', stage: 1, tile: 1, tiles: 1 },
  { type: 'stage-end', stage: 1, seconds: 1.25 },
  { type: 'stage-start', stage: 2, stages: 2, width: 128, height: 96, steps: 2 },
  { type: 'window-batch', stage: 2, step: 1, branch: 'patch', batch: 1, batches: 2 },
  { type: 'window-batch', stage: 2, step: 1, branch: 'patch', batch: 2, batches: 2 },
  { type: 'window-batch', stage: 2, step: 1, branch: 'dilated', batch: 1, batches: 1 },
  { type: 'step', stage: 2, step: 1, steps: 2 },
  { type: 'warning', message: 'prompt truncated: "x y" cut' },
  { type: 'step', stage: 2, step: 2, steps: 2 },
  { type: 'stage-end', stage: 2, seconds: 75 },
];

test('--json: one JSON object per event, in order, each a full event', () => {
  const out = stringStream();
  const r = createProgressRenderer('json', out);
  for (const e of events) r.onProgress(e);
  r.info('not in json');
  r.finish();
  const lines = out.text().split('\n');
  assert.equal(lines.pop(), '', 'ends with a newline');
  assert.equal(lines.length, events.length);
  assert.deepEqual(lines.map((l) => JSON.parse(l) as unknown), events);
});

test('--quiet: nothing at all', () => {
  const out = stringStream();
  const r = createProgressRenderer('quiet', out);
  for (const e of events) r.onProgress(e);
  r.info('hello');
  r.finish();
  assert.equal(out.text(), '');
});

test('bars off a terminal: stage lines, durations and warnings as plain lines', () => {
  const out = stringStream();
  const r = createProgressRenderer('bars', out);
  for (const e of events) r.onProgress(e);
  r.finish();
  const text = out.text();
  assert.deepEqual(text.split('\n').filter((l) => l !== ''), [
    'loading unet',
    'stage 1/2: 64x48, 2 steps',
    'stage 1 done in 1.3 s',
    'stage 2/2: 128x96, 2 steps',
    'warning: prompt truncated: "x y" cut',
    'stage 2 done in 1 min 15 s',
  ]);
});
