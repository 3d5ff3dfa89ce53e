/**
 * The single-file key maps (src/loading/ldm-key-map.ts, single-file.ts) against oracle/single-file/*.keymap.json
 * (test/fixtures/MODEL-FILES-README.md §9.2): every key of the tiny checkpoints maps to exactly the diffusers tensor(s) and transform
 * diffusers' loader produced, and every diffusers parameter is bound to a tensor of the file.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openCheckpoint, type BoundCheckpoint } from '../../src/loading/single-file.js';
import type { MappedKey } from '../../src/loading/checkpoint-weights.js';
import { oracleJson } from '../helpers/oracle.js';
import { modelsDir, tinySd, tinySdxl } from '../helpers/paths.js';

interface KeymapEntry { component: string; key: string; transform: string }

function transformName(m: MappedKey): string {
  const t = m.transform;
  return t.kind === 'in_proj_rows' ? `in_proj_rows(${t.start}:${t.end})` : t.kind;
}

/** fullKey → the diffusers entries our loader binds to it. */
function ourMap(b: BoundCheckpoint): Map<string, KeymapEntry[]> {
  const out = new Map<string, KeymapEntry[]>();
  const add = (component: string, mapping: ReadonlyMap<string, MappedKey>) => {
    for (const [key, m] of mapping) {
      const list = out.get(m.fullKey) ?? [];
      list.push({ component, key, transform: transformName(m) });
      out.set(m.fullKey, list);
    }
  };
  add('unet', b.unetWeights.mapping);
  add('vae', b.vaeWeights.mapping);
  for (const te of b.textEncoders) add(te.spec.role.component, te.weights.mapping);
  return out;
}

for (const [name, file, config, layout] of [
  ['tiny-sd', 'tiny-sd.fp16.safetensors', tinySd, 'sd1'],
  ['tiny-sdxl', 'tiny-sdxl.safetensors', tinySdxl, 'sdxl'],
] as const) {
  test(`${name}: every checkpoint key maps exactly as oracle/single-file/${name}.keymap.json says`, () => {
    const b = openCheckpoint(join(modelsDir, 'single-file', file), { config });
    assert.equal(b.layout, layout);
    const oracle = oracleJson<Record<string, KeymapEntry | KeymapEntry[]>>(`single-file/${name}.keymap`);
    const ours = ourMap(b);
    assert.equal(ours.size, Object.keys(oracle).length, 'number of checkpoint keys used');
    assert.equal(ours.size, b.file.header.tensors.size, 'every tensor of the file is used');
    for (const [fullKey, want] of Object.entries(oracle)) {
      const got = ours.get(fullKey);
      assert.ok(got, `${fullKey} is not used`);
      const w = (Array.isArray(want) ? want : [want]).map((e) => ({ component: e.component, key: e.key, transform: e.transform }));
      const sort = (l: KeymapEntry[]) => [...l].sort((a, c) => a.transform.localeCompare(c.transform) || a.key.localeCompare(c.key));
      assert.deepEqual(sort(got), sort(w), fullKey);
    }
  });
}
