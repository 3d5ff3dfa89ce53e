import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runInNewContext } from 'node:vm';
import { gcFunction } from '../../src/cli/host-process.js';
import { collectRunBuffersWith, noteRunBuffers, RUN_BUFFER_BUDGET_BYTES } from '../../src/engine/transient-memory.js';

test('without a host collector, run buffers are only counted by V8: no collector call, no gc exposed', () => {
  collectRunBuffersWith(undefined);
  noteRunBuffers(10 * RUN_BUFFER_BUDGET_BYTES);
  assert.equal(runInNewContext('typeof gc'), 'undefined');
});

test('a host collector runs once per spent budget', () => {
  let calls = 0;
  collectRunBuffersWith(() => calls++);
  try {
    noteRunBuffers(RUN_BUFFER_BUDGET_BYTES - 1);
    assert.equal(calls, 0);
    noteRunBuffers(1);
    assert.equal(calls, 1);
    noteRunBuffers(RUN_BUFFER_BUDGET_BYTES / 2);
    assert.equal(calls, 1);
  } finally {
    collectRunBuffersWith(undefined);
  }
});

test("the CLI's collector frees dropped buffers without --expose-gc, and leaves no gc behind in new contexts", async () => {
  const gc = gcFunction();
  assert.equal(typeof gc, 'function');
  assert.equal(runInNewContext('typeof gc'), 'undefined');
  let freed = 0;
  const registry = new FinalizationRegistry(() => {
    freed++;
  });
  // four dead 1 MiB buffers, far below the ~64 MiB of external memory after which V8 collects on its own
  (() => {
    for (let i = 0; i < 4; i++) registry.register(new Float32Array(2 ** 18), i);
  })();
  collectRunBuffersWith(gc);
  try {
    noteRunBuffers(RUN_BUFFER_BUDGET_BYTES);
  } finally {
    collectRunBuffersWith(undefined);
  }
  for (let i = 0; i < 100 && freed < 4; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(freed, 4);
});
