import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ortSessionOptions } from '../../src/engine/session.js';

/** Flattens `extra` the way onnxruntime's bindings do: nested keys joined with '.'. */
function configEntries(extra: unknown, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(extra as Record<string, unknown>)) {
    if (typeof v === 'object' && v !== null) Object.assign(out, configEntries(v, `${prefix}${k}.`));
    else out[`${prefix}${k}`] = String(v);
  }
  return out;
}

// The keys of onnxruntime_session_options_config_keys.h that sessions set. onnxruntime accepts any key and
// ignores unknown ones, so a misspelt or doubly prefixed key would silently turn the setting off.
const KNOWN_KEYS = new Set(['session.model_external_initializers_file_folder_path', 'session.disable_prepacking']);

test('session config entries are onnxruntime keys: external data folder and prepacking off', () => {
  const entries = configEntries(ortSessionOptions({ weightsDir: '/models/x/unet' }, ['cpu']).extra);
  for (const key of Object.keys(entries)) assert.ok(KNOWN_KEYS.has(key), `unknown onnxruntime config key ${key}`);
  assert.equal(entries['session.model_external_initializers_file_folder_path'], '/models/x/unet');
  assert.equal(entries['session.disable_prepacking'], '1');
});

test('session options pass threads, arena and memory-pattern switches through', () => {
  const o = ortSessionOptions({ weightsDir: '/w', threads: 2, memoryArena: false, memoryPattern: false }, ['cpu']);
  assert.equal(o.intraOpNumThreads, 2);
  assert.equal(o.interOpNumThreads, 1);
  assert.equal(o.executionMode, 'sequential');
  assert.equal(o.enableCpuMemArena, false);
  assert.equal(o.enableMemPattern, false);
  const d = ortSessionOptions({ weightsDir: '/w' }, ['cpu']);
  assert.equal(d.intraOpNumThreads, undefined);
  assert.equal(d.enableCpuMemArena, undefined);
  assert.equal(d.enableMemPattern, undefined);
});
