/**
 * Resolves `--model`: a diffusers model folder, or a Hugging Face repo id looked up offline in the
 * local Hugging Face cache (huggingface_hub's layout: `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else
 * `~/.cache/huggingface/hub`; then `models--<org>--<name>/snapshots/<revision>/`, with
 * `refs/main` naming the revision). Nothing is downloaded; the error lists every place it looked.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';

/** The hub cache folder huggingface_hub would use. */
export function huggingFaceHubCache(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  const home = env.HF_HOME ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'huggingface');
  return join(home, 'hub');
}

const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();

/** A model folder for `spec` (absolute path); throws ConfigError naming where it looked. */
export function resolveModelSpec(spec: string, env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string {
  const folder = resolve(cwd, spec);
  const looked: string[] = [folder];
  if (isDir(folder)) return requireModelIndex(folder);
  // A single-file checkpoint: src/loading/ checks what it holds.
  if (existsSync(folder) && statSync(folder).isFile()) return folder;

  const m = /^([\w.-]+)\/([\w.-]+)$/.exec(spec);
  if (m && !spec.startsWith('.')) {
    const repoDir = join(huggingFaceHubCache(env), `models--${m[1]}--${m[2]}`);
    const snapshots = join(repoDir, 'snapshots');
    const ref = join(repoDir, 'refs', 'main');
    if (existsSync(ref)) {
      const rev = readFileSync(ref, 'utf8').trim();
      const snap = join(snapshots, rev);
      looked.push(snap);
      if (/^[\w.-]+$/.test(rev) && isDir(snap)) return requireModelIndex(snap);
    } else {
      looked.push(join(snapshots, '*'));
      if (isDir(snapshots)) {
        // Without refs/main take the most recently written snapshot, as a user's last download.
        const snaps = readdirSync(snapshots)
          .map((s) => join(snapshots, s))
          .filter(isDir)
          .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
        if (snaps[0]) return requireModelIndex(snaps[0]);
      }
    }
  }
  throw new ConfigError(`model "${spec}" not found; looked in: ${looked.join(', ')}`);
}

function requireModelIndex(folder: string): string {
  if (!existsSync(join(folder, 'model_index.json'))) {
    throw new ConfigError(`${folder} is not a diffusers model folder (no model_index.json)`);
  }
  return folder;
}
