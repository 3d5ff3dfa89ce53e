/** The package's public entry: importable by its name (package.json "exports"), library usable without the CLI. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { tinySd } from './helpers/paths.js';

test('import { loadPipeline } from "accdiffusion" generates an image through the public API', async () => {
  const lib = await import('accdiffusion');
  for (const name of ['loadPipeline', 'availableDevices', 'AccDiffusionError', 'OptionsError', 'METHODS', 'REFERENCE_NEGATIVE_PROMPT', 'MAX_SEED', 'bigintAsString']) {
    assert.ok(name in lib, `exports ${name}`);
  }
  const pipe = await lib.loadPipeline(tinySd, { threads: 1 });
  try {
    const events: string[] = [];
    const r = await pipe.generate({ prompt: 'a photo of an astronaut', width: 128, height: 96, steps: 1, method: 'demofusion' }, { onProgress: (e) => events.push(e.type) });
    assert.deepEqual([r.image.width, r.image.height], [128, 96]);
    assert.equal(r.image.rgb.length, 128 * 96 * 3);
    assert.ok(events.includes('stage-start') && events.includes('step') && events.includes('stage-end'));
    await assert.rejects(pipe.generate({ prompt: 'x', width: 100, height: 64 }), lib.OptionsError);
  } finally {
    await pipe.dispose();
  }
});

test('the library leaves its host process as it was: no gc exposed, onnxruntime logger untouched; one generate() at a time', async () => {
  const { runInNewContext } = await import('node:vm');
  const ort = await import('onnxruntime-node');
  const lib = await import('accdiffusion');
  const logLevel = ort.env.logLevel;
  await lib.availableDevices();
  const pipe = await lib.loadPipeline(tinySd, { threads: 1 });
  try {
    const first = pipe.generate({ prompt: 'a photo of an astronaut', width: 64, height: 64, steps: 1, method: 'direct' });
    await assert.rejects(pipe.generate({ prompt: 'x', width: 64, height: 64, steps: 1, method: 'direct' }), /already generating/);
    const r = await first;
    assert.equal(r.image.width, 64);
    // the refusal did not disturb the pipeline: the next call runs
    assert.equal((await pipe.generate({ prompt: 'x', width: 64, height: 64, steps: 1, method: 'direct' })).image.height, 64);
    assert.equal(runInNewContext('typeof gc'), 'undefined');
    assert.equal(ort.env.logLevel, logLevel);
  } finally {
    await pipe.dispose();
  }
});
