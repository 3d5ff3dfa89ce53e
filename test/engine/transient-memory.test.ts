import assert from 'node:assert/strict';
import { test } from 'node:test';
import { noteRunBuffers, RUN_BUFFER_BUDGET_BYTES } from '../../src/engine/transient-memory.js';

test('spending the run-buffer budget starts a full collection: dropped buffers are freed without --expose-gc', async () => {
  let freed = 0;
  const registry = new FinalizationRegistry(() => {
    freed++;
  });
  // four dead 1 MiB buffers, far below the ~64 MiB of external memory after which V8 collects on its own
  (() => {
    for (let i = 0; i < 4; i++) registry.register(new Float32Array(2 ** 18), i);
  })();
  noteRunBuffers(RUN_BUFFER_BUDGET_BYTES);
  for (let i = 0; i < 100 && freed < 4; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(freed, 4);
});
