/**
 * Config files as Python writes them (issue 11.3): `json.dumps` writes NaN / Infinity / -Infinity (the
 * strings below are what Python 3.11's json.dumps printed), `json.loads` reads them, so every config loader
 * must too; what Python refuses (comments, trailing commas, a UTF-8 BOM) stays refused. A tiny-sd copy whose
 * scheduler config is an Euler one with Karras sigmas and `lambda_min_clipped: -Infinity` runs with
 * --scheduler ddim and gives exactly the latents of the untouched model.
 */
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/errors.js';
import { generate } from '../../src/pipeline/generate.js';
import { Components } from '../../src/loading/components.js';
import { readSchedulerConfig } from '../../src/loading/component-folder.js';
import { maxAbsDiff } from '../../src/tensor/tensor.js';
import { parsePythonJson } from '../../src/weights/python-json.js';
import { readUNetConfig } from '../../src/loading/component-folder.js';
import { tinySd } from '../helpers/paths.js';

const root = mkdtempSync(join(tmpdir(), 'accdiffusion-pyjson-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('parsePythonJson reads what json.dumps writes and refuses what json.loads refuses', () => {
  // python3 -c "import json; print(json.dumps({'a': float('-inf'), 'b': float('nan'), 'c': float('inf'), 's': 'NaN \"Infinity\"'}))"
  const v = parsePythonJson('{"a": -Infinity, "b": NaN, "c": Infinity, "s": "NaN \\"Infinity\\""}') as Record<string, unknown>;
  assert.equal(v.a, -Infinity);
  assert.ok(Number.isNaN(v.b));
  assert.equal(v.c, Infinity);
  assert.equal(v.s, 'NaN "Infinity"');
  assert.deepEqual(parsePythonJson('[NaN,-Infinity, {"x":[Infinity]}]'), [NaN, -Infinity, { x: [Infinity] }]);
  assert.deepEqual(parsePythonJson('{"k": 1, "k": 2}'), { k: 2 }); // last duplicate wins in both
  for (const bad of ['{"a": 1,}', '{"a": 1} // c', "{'a': 1}", '\ufeff{"a": 1}', '{"a": nan}', '{"a": NaNx}', '{"a": Infinit}', '{"a": +Infinity}']) {
    assert.throws(() => parsePythonJson(bad), SyntaxError, bad);
  }
});

test('configs with Python float literals load; a literal in a field we read is refused by name', () => {
  const dir = join(root, 'cfg');
  cpSync(join(tinySd, 'unet'), join(dir, 'unet'), { recursive: true });
  const unetFile = join(dir, 'unet', 'config.json');
  const text = readFileSync(unetFile, 'utf8');
  writeFileSync(unetFile, text.replace('"dropout": 0.0', '"dropout": NaN'));
  assert.equal(readUNetConfig(join(dir, 'unet')).block_out_channels.length, 2);
  const sched = join(dir, 'scheduler_config.json');
  writeFileSync(sched, '{"_class_name": "DDIMScheduler", "beta_start": NaN}');
  assert.throws(() => readSchedulerConfig(sched), (e: unknown) => e instanceof ConfigError && /beta_start must be a number in \(0, 1\), got NaN/.test(e.message));
});

test('tiny-sd: an Euler config with use_karras_sigmas and -Infinity runs as --scheduler ddim, same latents', async () => {
  const model = join(root, 'tiny-sd');
  cpSync(tinySd, model, { recursive: true });
  // what diffusers 0.27 writes for a DPM-style Euler config: the DDIM fields plus Karras sigmas and -inf
  const original = readFileSync(join(tinySd, 'scheduler', 'scheduler_config.json'), 'utf8');
  writeFileSync(join(model, 'scheduler', 'scheduler_config.json'), original
    .replace('"DDIMScheduler"', '"EulerDiscreteScheduler"')
    .replace('"trained_betas": null', '"trained_betas": null,\n  "use_karras_sigmas": true,\n  "lambda_min_clipped": -Infinity,\n  "sigma_max": NaN'));
  const opts = { prompt: 'a corgi', width: 64, height: 64, steps: 2, method: 'direct' as const, scheduler: 'ddim' as const };
  const runs = [];
  for (const dir of [tinySd, model]) {
    const c = await Components.load(dir, { threads: 1 });
    try {
      runs.push(await generate(c, opts));
    } finally {
      await c.dispose();
    }
  }
  assert.equal(maxAbsDiff(runs[0]!.stages[0]!.latents, runs[1]!.stages[0]!.latents), 0);
  // without the override the Euler class would have to honour Karras sigmas: one line naming the field
  const c = await Components.load(model, { threads: 1 });
  try {
    await assert.rejects(generate(c, { ...opts, scheduler: undefined }), (e: unknown) => e instanceof ConfigError && /scheduler_config\.json: use_karras_sigmas is true/.test(e.message));
  } finally {
    await c.dispose();
  }
});
