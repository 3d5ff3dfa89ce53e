/**
 * Resolves a model argument to a folder: a path, or a Hugging Face repo id (`org/name`, `org/name@revision`)
 * looked up OFFLINE in the local Hugging Face hub cache, the layout huggingface_hub's `file_download.py` writes
 * (see its "Manage huggingface_hub cache-system" guide):
 *   <cache>/models--org--name/refs/<branch>       a file holding a commit hash
 *   <cache>/models--org--name/snapshots/<hash>/…  the files, as symlinks into ../../blobs/<sha>
 * The cache folder is chosen as huggingface_hub's constants.py does: $HF_HUB_CACHE, then the legacy
 * $HUGGINGFACE_HUB_CACHE, then $HF_HOME/hub, then $XDG_CACHE_HOME/huggingface/hub, then ~/.cache/huggingface/hub.
 * Nothing is downloaded: this library never touches the network.
 */
import { readTextFile } from './read-text-file.js';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';

export interface ResolveModelOptions {
  /** Environment to read the cache variables from (default process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Folder relative paths are resolved against (default process.cwd()). */
  readonly cwd?: string;
  /** Home folder for `~` and the default cache (default os.homedir()). */
  readonly home?: string;
}

/** `org/name`: the parts huggingface_hub allows in a repo id (letters, digits, `-`, `_`, `.`). */
const REPO_ID = /^([A-Za-z0-9][A-Za-z0-9_.-]*)\/([A-Za-z0-9][A-Za-z0-9_.-]*)(?:@(.+))?$/;
const COMMIT_HASH = /^[0-9a-f]{40}$/;

/** The hub cache folder and the variable it came from. */
export function hfHubCache(options: ResolveModelOptions = {}): { dir: string; from: string } {
  const env = options.env ?? process.env;
  const home = options.home ?? homedir();
  const set = (k: string) => (env[k] !== undefined && env[k] !== '' ? env[k]! : undefined);
  const expand = (p: string) => (p === '~' || p.startsWith('~/') ? join(home, p.slice(1)) : p);
  if (set('HF_HUB_CACHE')) return { dir: resolve(expand(set('HF_HUB_CACHE')!)), from: '$HF_HUB_CACHE' };
  if (set('HUGGINGFACE_HUB_CACHE')) return { dir: resolve(expand(set('HUGGINGFACE_HUB_CACHE')!)), from: '$HUGGINGFACE_HUB_CACHE' };
  if (set('HF_HOME')) return { dir: join(resolve(expand(set('HF_HOME')!)), 'hub'), from: '$HF_HOME/hub' };
  if (set('XDG_CACHE_HOME')) return { dir: join(resolve(expand(set('XDG_CACHE_HOME')!)), 'huggingface', 'hub'), from: '$XDG_CACHE_HOME/huggingface/hub' };
  return { dir: join(home, '.cache', 'huggingface', 'hub'), from: 'the default ~/.cache/huggingface/hub' };
}

/** The nearest folder above `file` that holds model_index.json (the diffusers folder a component file is part of). */
export function enclosingModelFolder(file: string): string | undefined {
  for (let d = dirname(file); d !== dirname(d); d = dirname(d)) if (existsSync(join(d, 'model_index.json'))) return d;
  return undefined;
}

/** What to pass instead of a file: the enclosing model folder when there is one. */
function folderHint(file: string): string {
  const folder = enclosingModelFolder(file);
  if (folder) return `pass the model folder that holds it: ${folder}`;
  return 'pass a diffusers model folder (holding model_index.json), a single-file .safetensors checkpoint or a Hugging Face repo id';
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Returns the folder a model argument names: an existing folder path as given, else the cached snapshot of a
 * Hugging Face repo id. Throws a ConfigError listing every place it looked.
 */
export function resolveModel(spec: string, options: ResolveModelOptions = {}): string {
  if (spec.trim() === '') throw new ConfigError('model: empty; pass a model folder or a Hugging Face repo id (org/name)');
  const home = options.home ?? homedir();
  const cwd = options.cwd ?? process.cwd();
  const asPath = spec === '~' || spec.startsWith('~/') ? join(home, spec.slice(1)) : resolve(cwd, spec);
  const looked: string[] = [];

  // A folder on disk wins, so `org/name` can also be a local relative path.
  if (existsSync(asPath)) {
    if (isDir(asPath)) return asPath;
    throw new ConfigError(`${asPath}: is a file, not a model folder; ${folderHint(asPath)}`);
  }
  looked.push(`folder ${asPath} (does not exist)`);

  const m = REPO_ID.exec(spec);
  const repoPart = spec.split('@')[0]!;
  // huggingface_hub refuses `--` and `..` in repo ids; `--` would also make the cache folder name ambiguous.
  if (!m || isAbsolute(spec) || repoPart.includes('--') || repoPart.includes('..')) {
    throw new ConfigError(`model "${spec}": not found; looked for: ${looked.join('; ')}. It is not a Hugging Face repo id (org/name[@revision]) either`);
  }
  const [, org, name, revisionGiven] = m as unknown as [string, string, string, string | undefined];
  const revision = revisionGiven ?? 'main';
  const repoId = `${org}/${name}`;
  const cache = hfHubCache(options);
  const repoDir = join(cache.dir, `models--${org}--${name}`);
  const notFound = (detail: string): ConfigError =>
    new ConfigError(
      `model "${spec}": not found; looked for: ${[...looked, detail].join('; ')}. ` +
        `Models are never downloaded: fetch it first (e.g. \`huggingface-cli download ${repoId}\`), set HF_HUB_CACHE or HF_HOME, or pass a model folder`,
    );

  if (!isDir(repoDir)) throw notFound(`${repoId} in the Hugging Face cache at ${repoDir} (from ${cache.from}; does not exist)`);
  const snapshots = join(repoDir, 'snapshots');
  const available = isDir(snapshots) ? readdirSync(snapshots).filter((h) => isDir(join(snapshots, h))) : [];
  const availableNote = available.length ? `cached snapshots: ${available.join(', ')}` : 'no snapshots are cached';

  let commit: string;
  if (COMMIT_HASH.test(revision) && available.includes(revision)) {
    commit = revision;
  } else {
    // Branches such as refs/pr/1 are nested files; anything leaving refs/ is refused rather than read.
    const parts = revision.split('/');
    if (parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('\\'))) {
      throw new ConfigError(`model "${spec}": revision "${revision}" is not a valid branch, tag or commit name`);
    }
    const refFile = join(repoDir, 'refs', ...parts);
    let ref: string | undefined;
    try {
      ref = readTextFile(refFile).trim();
    } catch {
      throw notFound(`revision "${revision}" of ${repoId}: no ref file ${refFile} (from ${cache.from}; ${availableNote})`);
    }
    if (!COMMIT_HASH.test(ref)) throw new ConfigError(`${refFile}: does not hold a 40-hex commit hash (found ${JSON.stringify(ref.slice(0, 80))})`);
    looked.push(`ref file ${refFile} (-> ${ref})`);
    commit = ref;
  }
  const snapshot = join(snapshots, commit);
  if (!isDir(snapshot)) throw notFound(`snapshot ${snapshot} (from ${cache.from}; does not exist; ${availableNote})`);
  return snapshot;
}
