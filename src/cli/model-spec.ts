/**
 * Resolves `--model` with the library's resolver (weights/hf-cache.ts resolveModel): a single-file `.safetensors`
 * checkpoint (loading/model-path.ts), a diffusers model folder, or a Hugging Face repo id `org/name[@revision]` looked up offline in the local Hugging Face cache, exactly as
 * `loadPipeline` resolves it, so the CLI accepts what the library accepts. Nothing is downloaded. Adds one
 * CLI-side check: the folder must hold model_index.json, else the error says what the folder is.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isCheckpointFile } from '../loading/model-path.js';
import { ConfigError } from '../errors.js';
import { brokenLinkCause, interruptedDownloadNote } from '../weights/file-diagnosis.js';
import { hfHubCache, resolveModel } from '../weights/hf-cache.js';

/** The hub cache folder huggingface_hub would use. */
export function huggingFaceHubCache(env: NodeJS.ProcessEnv = process.env): string {
  return hfHubCache({ env }).dir;
}

/** A model folder for `spec` (absolute path); throws ConfigError naming where it looked and why. */
export function resolveModelSpec(spec: string, env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string {
  // A single-file checkpoint: src/loading/ checks what it holds.
  const path = resolve(cwd, spec);
  if (isCheckpointFile(path)) return path;
  return requireModelIndex(resolveModel(spec, { env, cwd }));
}

function requireModelIndex(folder: string): string {
  const index = join(folder, 'model_index.json');
  const link = brokenLinkCause(index);
  if (link) throw new ConfigError(`${index}: ${link}`);
  if (!existsSync(index)) {
    const note = interruptedDownloadNote(index);
    throw new ConfigError(note ? `${folder}: has no model_index.json${note}` : `${folder} is not a diffusers model folder (no model_index.json)`);
  }
  return folder;
}
