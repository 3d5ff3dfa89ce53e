/**
 * Which kind of model `--model` names: a diffusers folder (or Hugging Face repo id), or a single-file
 * `.safetensors` checkpoint. Pickle checkpoints (.ckpt/.pt/.bin/.pth) are refused without being opened.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { WeightsError } from '../errors.js';

const PICKLE = ['.ckpt', '.pt', '.pth', '.bin', '.pkl'];

/** True when a folder above `file` holds model_index.json: the file is a component of a diffusers folder. */
function insideDiffusersFolder(file: string): boolean {
  for (let d = dirname(file); d !== dirname(d); d = dirname(d)) if (existsSync(join(d, 'model_index.json'))) return true;
  return false;
}

/**
 * True when `spec` is an existing `.safetensors` file outside any diffusers folder (a single-file checkpoint).
 * Other files (model_index.json, a component's weights inside a diffusers folder) are left to the folder
 * resolver, whose error names the folder to pass instead.
 * @throws WeightsError for a pickle-based checkpoint file (unpickling runs code).
 */
export function isCheckpointFile(spec: string): boolean {
  let file = false;
  try {
    file = statSync(spec).isFile();
  } catch {
    return false;
  }
  if (file && PICKLE.includes(extname(spec).toLowerCase())) {
    throw new WeightsError(`${spec}: pickle-based checkpoints are never loaded (unpickling can run arbitrary code); use its .safetensors version`);
  }
  return file && extname(spec).toLowerCase() === '.safetensors' && !insideDiffusersFolder(spec);
}
