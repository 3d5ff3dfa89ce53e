/**
 * The weights of one diffusers component folder (unet/, vae/, text_encoder/, ...): single or sharded
 * safetensors, fp32 or fp16 (also the `.fp16.safetensors` variant naming), indexed by state-dict key.
 * Pickle-based files (.bin/.ckpt/.pt/.pth) are refused without being opened: unpickling runs code.
 *
 * onnxruntime reads external initializers relative to one folder, refuses absolute and `..` paths, and
 * resolves symlinks before checking; Hugging Face cache snapshots are symlinks into ../../blobs. So every
 * file is resolved to its real path here, and the session's folder is the one real folder holding them.
 */
import { readTextFile } from './read-text-file.js';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { WeightsError } from '../errors.js';
import type { WeightLookup, WeightRef } from '../graph/module.js';
import { readSafetensorsHeader, type SafetensorsHeader } from './safetensors.js';
import { parsePythonJson } from './python-json.js';
import { brokenLinkCause, downloadCause, interruptedDownloadNote, truncatedJsonCause } from './file-diagnosis.js';

const PICKLE_EXTENSIONS = ['.bin', '.ckpt', '.pt', '.pth', '.pkl'];

/** Weights of one component, with the folder onnxruntime must read them from. */
export interface ComponentWeights extends WeightLookup {
  /** Real folder of the weight files: pass as model_external_initializers_file_folder_path. */
  readonly weightsDir: string;
  /** The safetensors headers, one per file. */
  readonly headers: readonly SafetensorsHeader[];
  /** Dtype of most weights ('float32' or 'float16'). */
  readonly dtype: 'float32' | 'float16' | 'bfloat16';
}

const TO_DTYPE: Record<string, WeightRef['dtype'] | undefined> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };

/** Finds the weight files of a component folder: an index of shards, or one safetensors file. */
function findWeightFiles(dir: string, variant?: string): string[] {
  if (!existsSync(dir)) throw new WeightsError(`${dir}: component folder is missing`);
  const names = readdirSync(dir);
  const st = names.filter((n) => n.endsWith('.safetensors'));
  const indexes = names.filter((n) => n.endsWith('.safetensors.index.json'));
  const pick = <T extends string>(list: T[]): T[] => {
    const v = variant ? list.filter((n) => n.includes(`.${variant}.`)) : [];
    if (v.length) return v;
    const plain = list.filter((n) => !/\.(fp16|bf16|fp32)\.safetensors/.test(n));
    return plain.length ? plain : list;
  };
  const idx = pick(indexes);
  if (idx.length > 0) {
    const indexFile = join(dir, idx[0]!);
    const cause = downloadCause(indexFile);
    if (cause) throw new WeightsError(`${indexFile}: ${cause}`);
    let parsed: unknown;
    let text = '';
    try {
      text = readTextFile(indexFile);
      parsed = parsePythonJson(text);
    } catch (e) {
      throw new WeightsError(`${indexFile}: ${truncatedJsonCause(text, e) ?? 'not valid JSON'}`);
    }
    const map = (parsed as { weight_map?: unknown })?.weight_map;
    if (typeof map !== 'object' || map === null) throw new WeightsError(`${indexFile}: has no "weight_map" object`);
    const files = new Set<string>();
    for (const [key, f] of Object.entries(map as Record<string, unknown>)) {
      if (typeof f !== 'string' || f.includes('/') || f.includes('\\') || f.startsWith('.')) {
        throw new WeightsError(`${indexFile}: weight_map["${key}"] is not a plain file name`);
      }
      files.add(f);
    }
    if (files.size === 0) throw new WeightsError(`${indexFile}: "weight_map" is empty, so it names no shard files`);
    for (const f of files) if (!existsSync(join(dir, f)) && !brokenLinkCause(join(dir, f))) throw new WeightsError(`${indexFile}: names shard "${f}", which is missing${interruptedDownloadNote(join(dir, f))}`);
    return [...files].sort().map((f) => join(dir, f));
  }
  const single = pick(st);
  if (single.length === 1) return [join(dir, single[0]!)];
  if (single.length > 1) throw new WeightsError(`${dir}: several safetensors files (${single.join(', ')}) and no *.safetensors.index.json`);
  const pickled = names.filter((n) => PICKLE_EXTENSIONS.some((e) => n.endsWith(e)));
  if (pickled.length > 0) {
    throw new WeightsError(
      `${join(dir, pickled[0]!)}: pickle-based weights are never loaded (unpickling can run arbitrary code); convert the model to .safetensors`,
    );
  }
  throw new WeightsError(`${dir}: no .safetensors weights found${interruptedDownloadNote(join(dir, 'x.safetensors'))}`);
}

/** Opens the weights of a component folder (headers only; no tensor data is read). */
export function openComponentWeights(dir: string, options: { variant?: string } = {}): ComponentWeights {
  const files = findWeightFiles(dir, options.variant);
  for (const f of files) {
    const cause = downloadCause(f);
    if (cause) throw new WeightsError(`${f}: ${cause}`);
  }
  const real = files.map((f) => realpathSync(f));
  const weightsDir = dirname(real[0]!);
  for (let i = 1; i < real.length; i++) {
    if (dirname(real[i]!) !== weightsDir) throw new WeightsError(`${files[i]}: shards resolve to different folders (${weightsDir} and ${dirname(real[i]!)})`);
  }
  const refs = new Map<string, WeightRef>();
  const headers: SafetensorsHeader[] = [];
  const counts: Record<string, number> = {};
  files.forEach((file, i) => {
    const header = readSafetensorsHeader(file);
    headers.push(header);
    const location = basename(real[i]!);
    for (const e of header.tensors.values()) {
      if (refs.has(e.name)) throw new WeightsError(`${file}: weight "${e.name}" also appears in ${refs.get(e.name)!.file}`);
      const dtype = TO_DTYPE[e.dtype];
      if (!dtype) {
        // Integer buffers such as CLIP's position_ids are not parameters; keep them out of the lookup.
        if (e.dtype === 'I64' || e.dtype === 'I32') continue;
        throw new WeightsError(`${file}: weight "${e.name}" has dtype ${e.dtype}; only F32, F16 and BF16 weights are supported`);
      }
      counts[dtype] = (counts[dtype] ?? 0) + 1;
      refs.set(e.name, { key: e.name, dtype, shape: e.shape, where: { location, offset: e.byteOffset, length: e.byteLength }, file });
    }
  });
  const dtype = (Object.entries(counts).sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'float32') as ComponentWeights['dtype'];
  return {
    source: dir,
    weightsDir,
    headers,
    dtype,
    get: (key) => refs.get(key),
    keys: () => refs.keys(),
  };
}
