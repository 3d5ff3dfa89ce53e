/** Loading oracle tensors (diffusers/transformers reference outputs) in tests. */
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { loadSafetensors, type LoadedTensor } from '../../src/weights/safetensors.js';
import { oracleDir } from './paths.js';

const cache = new Map<string, Map<string, LoadedTensor>>();

/** All tensors of oracle/<rel>.safetensors, e.g. oracle('tiny-sd/unet'). */
export function oracle(rel: string): Map<string, LoadedTensor> {
  let m = cache.get(rel);
  if (!m) {
    m = loadSafetensors(join(oracleDir, `${rel}.safetensors`));
    cache.set(rel, m);
  }
  return m;
}

/** One oracle tensor as float32 (throws if missing). */
export function oracleF32(rel: string, name: string): { data: Float32Array; shape: readonly number[] } {
  const t = oracle(rel).get(name);
  if (!t) throw new Error(`oracle ${rel} has no tensor ${name}`);
  if (!(t.data instanceof Float32Array)) throw new Error(`oracle ${rel}:${name} is ${t.dtype}, not F32`);
  return { data: t.data, shape: t.shape };
}

/** oracle/<rel>.json parsed. */
export function oracleJson<T = any>(rel: string): T {
  return JSON.parse(readFileSync(join(oracleDir, `${rel}.json`), 'utf8')) as T;
}
