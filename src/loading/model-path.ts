/**
 * Which kind of model `--model` names: a diffusers folder (or Hugging Face repo id), or a single-file
 * `.safetensors` checkpoint. Pickle checkpoints (.ckpt/.pt/.bin/.pth) are refused without being opened.
 */
import { statSync } from 'node:fs';
import { extname } from 'node:path';
import { WeightsError } from '../errors.js';
import { enclosingModelFolder } from '../weights/hf-cache.js';

const PICKLE = ['.ckpt', '.pt', '.pth', '.bin', '.pkl'];

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
  return file && extname(spec).toLowerCase() === '.safetensors' && enclosingModelFolder(spec) === undefined;
}
