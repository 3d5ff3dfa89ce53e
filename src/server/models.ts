/**
 * The models the page may choose from (issue 15, security): the diffusers folders directly inside the
 * configured roots (`--models DIR...`, each root itself too when it is a model folder), the bundled model,
 * and the repos of the local Hugging Face hub cache. A job names a model by its id from this list, never by
 * a path, so a request cannot make the server open any other folder.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { huggingFaceHubCache, resolveModelSpec } from '../cli/model-spec.js';
import { openModelFolder } from '../weights/diffusers-folder.js';

/** One selectable model. */
export interface ModelEntry {
  /** What the page sends: `<folder name>` for a root's folder (with `-2`, ... on clashes), `org/name` for the cache. */
  readonly id: string;
  /** Absolute folder path (never sent to the page). */
  readonly path: string;
  readonly nativeSize: number;
  readonly nativeLatentSize: number;
  readonly vaeScaleFactor: number;
  /** SDXL-style (two text encoders, text_time embedding): picks the preview's latent → RGB factors. */
  readonly sdxl: boolean;
}

/** What the page sees of a model. */
export type PublicModel = Omit<ModelEntry, 'path'>;

const isDir = (p: string): boolean => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

function describe(id: string, path: string): ModelEntry | undefined {
  try {
    const f = openModelFolder(path);
    return { id, path: f.path, nativeSize: f.nativeSize, nativeLatentSize: f.nativeLatentSize, vaeScaleFactor: f.vaeScaleFactor, sdxl: f.hasTextTimeEmbedding };
  } catch {
    return undefined; // not a usable diffusers folder: not offered
  }
}

/** Folders under `root` (and root itself) holding a model_index.json. */
function foldersIn(root: string): string[] {
  if (!isDir(root)) return [];
  if (existsSync(join(root, 'model_index.json'))) return [root];
  return readdirSync(root)
    .filter((n) => !n.startsWith('.'))
    .map((n) => join(root, n))
    .filter((p) => isDir(p) && existsSync(join(p, 'model_index.json')))
    .sort();
}

/** Repo ids (`org/name`) with a snapshot in the hub cache. */
function cachedRepos(env: NodeJS.ProcessEnv): string[] {
  const hub = huggingFaceHubCache(env);
  if (!isDir(hub)) return [];
  return readdirSync(hub)
    .map((n) => /^models--([\w.-]+)--([\w.-]+)$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => `${m[1]}/${m[2]}`)
    .sort();
}

/** Lists every selectable model, roots first (in the given order), then the cache. */
export function listModels(roots: readonly string[], env: NodeJS.ProcessEnv = process.env): ModelEntry[] {
  const out: ModelEntry[] = [];
  const ids = new Set<string>();
  const seenPaths = new Set<string>();
  for (const root of roots) {
    for (const folder of foldersIn(resolve(root))) {
      if (seenPaths.has(folder)) continue;
      seenPaths.add(folder);
      let id = basename(folder);
      for (let k = 2; ids.has(id); k++) id = `${basename(folder)}-${k}`;
      const entry = describe(id, folder);
      if (entry) {
        ids.add(id);
        out.push(entry);
      }
    }
  }
  for (const repo of cachedRepos(env)) {
    if (ids.has(repo)) continue;
    let folder: string;
    try {
      folder = resolveModelSpec(repo, env, '/');
    } catch {
      continue;
    }
    const entry = describe(repo, folder);
    if (entry) {
      ids.add(repo);
      out.push(entry);
    }
  }
  return out;
}

export function publicModel(m: ModelEntry): PublicModel {
  const { path: _path, ...rest } = m;
  return rest;
}
