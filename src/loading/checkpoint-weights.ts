/**
 * A single-file checkpoint's tensors presented under diffusers keys, one component at a time, without reading
 * any tensor data: each weight is a reference to its bytes in the file (an onnxruntime external initializer at
 * an offset), including the slices of OpenCLIP's fused in_proj and the 1×1-conv attention weights read as
 * Linear weights. Only the transposed `text_projection` is transposed in the graph (WeightRef.transposed).
 */
import { realpathSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { WeightsError } from '../errors.js';
import type { WeightRef } from '../graph/module.js';
import { readSafetensorsHeader, type SafetensorsEntry, type SafetensorsHeader } from '../weights/safetensors.js';
import type { ComponentWeights } from '../weights/component-weights.js';
import type { CheckpointKey } from './ldm-key-map.js';

const TO_DTYPE: Record<string, WeightRef['dtype'] | undefined> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };
const BYTES: Record<WeightRef['dtype'], number> = { float32: 4, float16: 2, bfloat16: 2 };

/** An opened checkpoint file (header only). */
export interface CheckpointFile {
  readonly file: string;
  readonly header: SafetensorsHeader;
  /** Real folder of the file (symlinks resolved): the sessions' weights folder. */
  readonly weightsDir: string;
  /** The file's name in weightsDir. */
  readonly location: string;
}

/** Opens a .safetensors checkpoint's header. @throws WeightsError on an unreadable or malformed file. */
export function openCheckpointFile(file: string): CheckpointFile {
  const header = readSafetensorsHeader(file);
  const real = realpathSync(file);
  return { file, header, weightsDir: dirname(real), location: basename(real) };
}

/** One diffusers key's place in the checkpoint, as the key-map tests see it. */
export interface MappedKey extends CheckpointKey {
  /** The checkpoint key with its component prefix. */
  readonly fullKey: string;
}

function refFor(ckpt: CheckpointFile, key: string, entry: SafetensorsEntry, at: CheckpointKey): WeightRef {
  const dtype = TO_DTYPE[entry.dtype];
  if (!dtype) throw new WeightsError(`${ckpt.file}: weight "${entry.name}" has dtype ${entry.dtype}; only F32, F16 and BF16 weights are supported`);
  const base = { key, dtype, file: ckpt.file };
  const where = { location: ckpt.location, offset: entry.byteOffset, length: entry.byteLength };
  const t = at.transform;
  switch (t.kind) {
    case 'copy':
      return { ...base, shape: entry.shape, where };
    case 'conv1x1_to_linear': {
      const s = entry.shape;
      const shape = s.length === 4 && s[2] === 1 && s[3] === 1 ? s.slice(0, 2) : s;
      return { ...base, shape, where };
    }
    case 'transpose':
      if (entry.shape.length !== 2) throw new WeightsError(`${ckpt.file}: "${entry.name}" has shape [${entry.shape}], expected a 2-D projection`);
      return { ...base, shape: [entry.shape[1]!, entry.shape[0]!], where, transposed: true };
    case 'in_proj_rows': {
      const rows = entry.shape[0] ?? 0;
      if (t.end > rows) throw new WeightsError(`${ckpt.file}: "${entry.name}" has ${rows} rows, fewer than the ${t.end} the q/k/v split needs`);
      const rowBytes = (entry.shape.slice(1).reduce((a, b) => a * b, 1)) * BYTES[dtype];
      const shape = [t.end - t.start, ...entry.shape.slice(1)];
      return { ...base, shape, where: { ...where, offset: entry.byteOffset + t.start * rowBytes, length: (t.end - t.start) * rowBytes } };
    }
  }
}

/**
 * The weights of one component: for every declared diffusers key, `locate` names the checkpoint key (without
 * `prefix`) and transform. Keys whose checkpoint tensor is absent are left out (binding then names them).
 */
export function mappedComponentWeights(
  ckpt: CheckpointFile, component: string, prefix: string, declared: Iterable<string>, locate: (key: string) => CheckpointKey | undefined,
): ComponentWeights & { readonly mapping: ReadonlyMap<string, MappedKey> } {
  const refs = new Map<string, WeightRef>();
  const mapping = new Map<string, MappedKey>();
  const counts: Record<string, number> = {};
  for (const key of declared) {
    const at = locate(key);
    if (!at) continue;
    const fullKey = prefix + at.key;
    const entry = ckpt.header.tensors.get(fullKey);
    if (!entry) continue;
    const ref = refFor(ckpt, key, entry, at);
    refs.set(key, ref);
    mapping.set(key, { ...at, fullKey });
    counts[ref.dtype] = (counts[ref.dtype] ?? 0) + 1;
  }
  const dtype = (Object.entries(counts).sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'float32') as ComponentWeights['dtype'];
  return {
    source: `${ckpt.file} (${component}, under "${prefix}")`,
    weightsDir: ckpt.weightsDir,
    headers: [ckpt.header],
    dtype,
    mapping,
    get: (key) => refs.get(key),
    keys: () => refs.keys(),
  };
}
